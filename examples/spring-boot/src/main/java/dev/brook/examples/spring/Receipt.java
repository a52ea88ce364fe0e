package dev.brook.examples.spring;

/** What {@link OrderHandler} publishes to {@code receipts} for each order. */
public record Receipt(int orderId, String item, int quantity) {}
