package dev.brook.asyncapi;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.Size;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** Payload types the tests document: records, a POJO, an enum, collections, nullable and constrained fields. */
final class Payloads {

  private Payloads() {}

  enum Priority { LOW, NORMAL, HIGH }

  record LineItem(@NotNull String sku, @Positive BigDecimal price, int count) {}

  record Order(
      @NotNull @Min(1) Long id,
      @NotBlank @Size(max = 40) String item,
      @Min(1) @Max(100) int quantity,
      Priority priority,
      @Size(min = 1, max = 20) List<LineItem> lines,
      Map<String, Integer> counts,
      Optional<String> note,
      @NotNull @Pattern(regexp = "[A-Z]{3}") String currency,
      Instant placedAt,
      UUID reference,
      Customer customer) {}

  record Receipt(long orderId, String text) {}

  /** A bean, as Jackson reads it through setters. */
  public static final class Customer {
    private String name;
    private Integer age;
    private boolean vip;

    public String getName() {
      return name;
    }

    public void setName(String name) {
      this.name = name;
    }

    public Integer getAge() {
      return age;
    }

    public void setAge(Integer age) {
      this.age = age;
    }

    public boolean isVip() {
      return vip;
    }

    public void setVip(boolean vip) {
      this.vip = vip;
    }
  }

  /** Refers to itself: schema generation and examples must stop. */
  record TreeNode(String label, List<TreeNode> children) {}

  record Job(@NotNull String task, int attempts) {}

  record Event(String type, Map<String, String> attributes) {}
}
