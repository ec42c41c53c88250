// The portal's own behaviour, from a file: the Content-Security-Policy allows no inline script
// and no eval, so htmx's hx-on attributes are not used.
"use strict";

// After paging the history (htmx swaps the results in place), move the focus to the results
// so that keyboard and screen-reader users start reading at the new page.
document.addEventListener("htmx:afterSettle", (event) => {
  const target = event.detail.target;
  const trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (target && target.id === "history-results" && trigger && trigger.closest(".pagination")) {
    target.focus();
  }
});

// A print button (hidden until this script runs, since it needs it) prints the page: the card page's
// print styles leave only the card.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
// Copy buttons (the referral link): <button data-copy="#field" data-copied="Copied!" hidden>.
// The button stays hidden without script or clipboard, where the field can still be selected.
document.querySelectorAll("button[data-copy]").forEach((button) => {
  const field = document.querySelector(button.dataset.copy);
  if (!field || !navigator.clipboard) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", () => {
    const status = button.closest("section").querySelector(".copy-status");
    navigator.clipboard.writeText(field.value).then(
      () => {
        if (status) {
          status.textContent = button.dataset.copied;
        }
      },
      () => {
        field.select();
      },
    );
  });
});
