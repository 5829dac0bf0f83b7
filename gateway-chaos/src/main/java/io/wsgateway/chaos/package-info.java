/**
 * A Jepsen-style fault-injection harness for the gateway: {@link io.wsgateway.chaos.ChaosRun} runs three
 * example gateways behind HAProxy with a private Redis and the machine's RabbitMQ, drives numbered
 * streams through clients behind controllable proxies while a seeded schedule injects faults, records
 * the history and checks it. Start with {@link io.wsgateway.chaos.ChaosMain} or docs/chaos.md.
 */
package io.wsgateway.chaos;
