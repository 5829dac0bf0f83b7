// Compiled (not run) by `npm run build`: the public types accept the WebSocket constructors users pass.
import WebSocketNode from "ws";
import { GatewayClient, GatewayError, type Message, type Welcome } from "../../src/index.js";

const browser = new GatewayClient({ url: "ws://localhost:8080/ws", token: "t", WebSocket: WebSocket });
const node = new GatewayClient({ url: () => "ws://localhost:8080/ws", token: async () => "t", WebSocket: WebSocketNode });
const off: () => void = browser.on("message", (m: Message) => void m.data);
off();
node.on("gap", (g) => void g.code);
const welcome: Promise<Welcome> = node.connect();
void welcome;
node.send("bob", { text: "hi" }, { whenDisconnected: "reject", timeout: 1000 }).catch((e: GatewayError) => e.code);
