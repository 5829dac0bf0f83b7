// Builds the package: type declarations with tsc (and a compile check of test/types), and one ES module
// (dist/index.js) with esbuild.
// --sync-example copies that module to the example gateway's static resources, which serve it to the
// chat page; --check-example fails if the committed copy differs from a fresh build (run by test.sh in CI).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const exampleCopy = join(root, "..", "examples", "src", "main", "resources", "static", "js", "wsgateway-client.js");
const out = join(root, "dist", "index.js");

rmSync(join(root, "dist"), { recursive: true, force: true });
const tsc = (project) => execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p",
  join(root, project)], { stdio: "inherit" });
tsc("tsconfig.json");
// test/types/usage.ts: the public types accept the browser's and the ws package's WebSocket.
tsc("tsconfig.types-test.json");
await build({
  entryPoints: [join(root, "src", "index.ts")],
  outfile: out,
  bundle: true,
  format: "esm",
  target: "es2020",
  platform: "neutral",
  legalComments: "none",
  charset: "utf8",
  banner: { js: `// ${pkg.name} ${pkg.version}: built from gateway-client-js/src by \`npm run build\`; do not edit.` },
});

const built = readFileSync(out, "utf8");
if (process.argv.includes("--sync-example")) {
  writeFileSync(exampleCopy, built);
  console.log("wrote " + relative(process.cwd(), exampleCopy));
}
if (process.argv.includes("--check-example")) {
  const committed = existsSync(exampleCopy) ? readFileSync(exampleCopy, "utf8") : "";
  if (committed !== built) {
    console.error(relative(process.cwd(), exampleCopy) + " is not the build of gateway-client-js/src: "
      + "run `npm run sync-example` in gateway-client-js and commit it");
    process.exit(1);
  }
  console.log(relative(process.cwd(), exampleCopy) + " is up to date");
}
