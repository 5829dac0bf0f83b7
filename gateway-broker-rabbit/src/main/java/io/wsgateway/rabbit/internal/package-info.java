/** Implementation of the RabbitMQ broker; not exported. */
package io.wsgateway.rabbit.internal;
