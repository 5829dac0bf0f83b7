/** JMH suite for JWT verification at the handshake. */
package io.wsgateway.benchmarks.auth;
