package dev.brook.examples.spring;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Positive;

/** An order as posted to {@code /orders} and published to the channel {@code orders}. */
public record Order(@Positive int id, @NotBlank String item, @Positive int quantity) {}
