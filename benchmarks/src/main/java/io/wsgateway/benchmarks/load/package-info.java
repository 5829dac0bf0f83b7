/** The end-to-end load tool ({@link io.wsgateway.benchmarks.load.LoadTool}) and the gateway it drives by default. */
package io.wsgateway.benchmarks.load;
