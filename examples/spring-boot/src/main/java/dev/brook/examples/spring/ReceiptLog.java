package dev.brook.examples.spring;

import dev.brook.Subscribe;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.springframework.stereotype.Component;

/** Keeps the last receipts seen on {@code receipts}, for {@code GET /receipts}. Thread-safe. */
@Component
public class ReceiptLog {

  private static final int KEEP = 100;
  private final List<Receipt> receipts = new CopyOnWriteArrayList<>();

  @Subscribe(channel = "receipts")
  void onReceipt(Receipt receipt) {
    receipts.add(receipt);
    while (receipts.size() > KEEP) {
      receipts.remove(0);
    }
  }

  public List<Receipt> receipts() {
    return List.copyOf(receipts);
  }
}
