/** JMH suite for envelope round trips through the message brokers. */
package io.wsgateway.benchmarks.broker;
