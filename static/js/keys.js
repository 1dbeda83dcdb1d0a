/*
 * API-key pages: small conveniences on top of portal.js (which copies [data-copy-target]).
 *
 *   [data-select-on-focus]   a read-only field (the new key) whose whole text is selected
 *                            on focus or click, so it can be copied by hand in one go
 *
 * Every page works without this file.
 */
(function () {
  "use strict";

  function selectAll(event) {
    var field = event.currentTarget;
    window.setTimeout(function () {
      field.select();
      if (typeof field.setSelectionRange === "function") {
        field.setSelectionRange(0, field.value.length);
      }
    }, 0);
  }

  function init() {
    document.querySelectorAll("[data-select-on-focus]").forEach(function (field) {
      field.addEventListener("focus", selectAll);
      field.addEventListener("click", selectAll);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
