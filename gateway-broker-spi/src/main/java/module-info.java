/** Message broker SPI: what a broker implementation needs, and nothing else. */
module io.wsgateway.broker {
  exports io.wsgateway.broker;
}
