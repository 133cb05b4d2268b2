/* Review inbox and compare: keyboard shortcuts. Plain JS, no build step.
 *
 * m = merge, n = not a match, d = defer (each clicks the form's button, so the same POST runs with or
 * without htmx); j / ArrowRight = next proposal, k / ArrowLeft = previous; ? = help; Esc leaves a field.
 * Nothing fires while the focus is in a text field, or with Ctrl/Alt/Meta held (browser shortcuts stay).
 * One listener on the document reads the current panel each time, so it keeps working after htmx swaps it.
 */
(function () {
  "use strict";
  if (window.mdmReviewShortcuts) return; // loaded once, even if a swapped page includes the script again
  window.mdmReviewShortcuts = true;

  function panel() {
    return document.getElementById("review-panel");
  }

  function typing(target) {
    if (!target || !target.tagName) return false;
    const tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || target.isContentEditable) return true;
    if (tag !== "input") return false;
    return !["radio", "checkbox", "button", "submit", "reset"].includes((target.type || "").toLowerCase());
  }

  function toggleHelp(show) {
    const help = document.getElementById("review-help");
    if (!help) return;
    help.hidden = show === undefined ? !help.hidden : !show;
  }

  function go(url) {
    if (url) window.location.assign(url);
  }

  function decide(key) {
    const button = document.querySelector('#decide-form button[data-shortcut="' + key + '"]');
    if (!button || button.disabled) return false;
    button.click();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    const root = panel();
    if (!root || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    let handled = true;
    switch (event.key) {
      case "?":
        toggleHelp();
        break;
      case "Escape":
        toggleHelp(false);
        handled = false;
        break;
      case "m":
      case "n":
      case "d":
        handled = decide(event.key);
        break;
      case "j":
      case "ArrowRight":
        handled = Boolean(root.dataset.nextUrl);
        go(root.dataset.nextUrl);
        break;
      case "k":
      case "ArrowLeft":
        handled = Boolean(root.dataset.prevUrl);
        go(root.dataset.prevUrl);
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    const toggle = event.target.closest && event.target.closest("[data-review-help-toggle]");
    if (toggle) toggleHelp();
  });
})();
