/*
 * Developer Portal: site-wide behaviour. Vanilla JS, no dependencies, nothing global.
 *
 * Loaded with `defer` from base.html; the Content-Security-Policy forbids inline scripts,
 * so pages opt in through data attributes instead:
 *
 *   [data-nav-toggle]         button (aria-controls=panel id) that shows/hides the mobile nav
 *   [data-menu-toggle]        disclosure button (aria-controls=menu id) for a dropdown menu
 *   [data-autosubmit]         <select> that submits its form on change (a submit button
 *                             stays in the markup so the form works without JS)
 *   [data-toast]              a message; [data-toast-close] inside closes it;
 *                             data-autodismiss="6000" removes it after that many ms
 *   [data-copy-target="id"]   button that copies the text (or value) of #id;
 *                             data-copy-announce="Copied" is read out by screen readers
 *   #live-region              a polite aria-live region in base.html used for announcements
 *
 * Every page works without this file; it only adds convenience.
 */
(function () {
  "use strict";

  var ESCAPE = "Escape";

  /* ------------------------------------------------------------------------------------
   * Announcements for assistive technology
   * ---------------------------------------------------------------------------------- */
  function announce(message) {
    var region = document.getElementById("live-region");
    if (!region || !message) {
      return;
    }
    // Clear first so repeating the same message is announced again.
    region.textContent = "";
    window.setTimeout(function () {
      region.textContent = message;
    }, 50);
  }

  /* ------------------------------------------------------------------------------------
   * Disclosure widgets: the mobile nav and dropdown menus share one implementation.
   * ---------------------------------------------------------------------------------- */
  function controlledElement(button) {
    var id = button.getAttribute("aria-controls");
    return id ? document.getElementById(id) : null;
  }

  function isOpen(button) {
    return button.getAttribute("aria-expanded") === "true";
  }

  function setOpen(button, open) {
    var target = controlledElement(button);
    if (!target) {
      return;
    }
    button.setAttribute("aria-expanded", open ? "true" : "false");
    target.hidden = !open;
    var label = button.getAttribute(open ? "data-label-close" : "data-label-open");
    if (label) {
      var text = button.querySelector("[data-toggle-label]");
      if (text) {
        text.textContent = label;
      }
    }
  }

  function initDisclosures() {
    var toggles = Array.prototype.slice.call(
      document.querySelectorAll("[data-nav-toggle], [data-menu-toggle]")
    );
    if (!toggles.length) {
      return;
    }

    toggles.forEach(function (button) {
      // Markup ships closed; make sure state and visibility agree.
      setOpen(button, false);
      button.addEventListener("click", function (event) {
        event.stopPropagation();
        var open = !isOpen(button);
        if (open && button.hasAttribute("data-menu-toggle")) {
          // Only one dropdown menu open at a time.
          toggles.forEach(function (other) {
            if (other !== button && other.hasAttribute("data-menu-toggle")) {
              setOpen(other, false);
            }
          });
        }
        setOpen(button, open);
      });
    });

    // Escape closes whichever disclosure holds focus (or the last one opened) and
    // returns focus to its toggle.
    document.addEventListener("keydown", function (event) {
      if (event.key !== ESCAPE) {
        return;
      }
      toggles.forEach(function (button) {
        if (!isOpen(button)) {
          return;
        }
        var target = controlledElement(button);
        var focusInside = target && target.contains(document.activeElement);
        setOpen(button, false);
        if (focusInside || document.activeElement === button || button.hasAttribute("data-menu-toggle")) {
          button.focus();
        }
      });
    });

    // A click outside an open dropdown menu closes it (the mobile nav stays put: it
    // is part of the page flow, not an overlay).
    document.addEventListener("click", function (event) {
      toggles.forEach(function (button) {
        if (!button.hasAttribute("data-menu-toggle") || !isOpen(button)) {
          return;
        }
        var target = controlledElement(button);
        if (target && !target.contains(event.target) && !button.contains(event.target)) {
          setOpen(button, false);
        }
      });
    });

    // Tabbing out of a dropdown menu closes it, so it never covers what has focus next.
    document.addEventListener("focusin", function (event) {
      toggles.forEach(function (button) {
        if (!button.hasAttribute("data-menu-toggle") || !isOpen(button)) {
          return;
        }
        var target = controlledElement(button);
        if (target && !target.contains(event.target) && event.target !== button) {
          setOpen(button, false);
        }
      });
    });
  }

  /* ------------------------------------------------------------------------------------
   * Language switcher: submit on change. The form's own button remains for no-JS use.
   * ---------------------------------------------------------------------------------- */
  function initAutosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      var initial = select.value;
      select.addEventListener("change", function () {
        if (select.value !== initial && select.form) {
          if (typeof select.form.requestSubmit === "function") {
            select.form.requestSubmit();
          } else {
            select.form.submit();
          }
        }
      });
    });
  }

  /* ------------------------------------------------------------------------------------
   * Toasts: close button, and auto-dismiss for success/info that pauses while the
   * pointer or keyboard focus is on the toast (WCAG 2.2.1, timing adjustable).
   * ---------------------------------------------------------------------------------- */
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function dismissToast(toast) {
    if (!toast || toast.classList.contains("is-leaving")) {
      return;
    }
    var hadFocus = toast.contains(document.activeElement);
    var container = toast.parentElement;
    function remove() {
      toast.remove();
      if (container && !container.querySelector("[data-toast]")) {
        container.remove();
      }
      if (hadFocus) {
        // Do not strand keyboard users on <body>: continue at the main content.
        var main = document.getElementById("main");
        if (main) {
          main.focus();
        }
      }
    }
    toast.classList.add("is-leaving");
    if (reduceMotion) {
      remove();
    } else {
      window.setTimeout(remove, 200);
    }
  }

  function initToasts() {
    document.querySelectorAll("[data-toast]").forEach(function (toast) {
      var close = toast.querySelector("[data-toast-close]");
      if (close) {
        close.addEventListener("click", function () {
          dismissToast(toast);
        });
      }

      var delay = parseInt(toast.getAttribute("data-autodismiss"), 10);
      if (!delay || delay < 0) {
        return;
      }
      var timer = null;
      var remaining = delay;
      var startedAt = 0;
      var hovered = false;
      var focused = false;

      function start() {
        if (timer || hovered || focused) {
          return;
        }
        startedAt = Date.now();
        timer = window.setTimeout(function () {
          dismissToast(toast);
        }, remaining);
      }
      function pause() {
        if (!timer) {
          return;
        }
        window.clearTimeout(timer);
        timer = null;
        remaining = Math.max(1000, remaining - (Date.now() - startedAt));
      }

      toast.addEventListener("mouseenter", function () { hovered = true; pause(); });
      toast.addEventListener("mouseleave", function () { hovered = false; start(); });
      toast.addEventListener("focusin", function () { focused = true; pause(); });
      toast.addEventListener("focusout", function (event) {
        if (!toast.contains(event.relatedTarget)) {
          focused = false;
          start();
        }
      });
      start();
    });

    // Escape also dismisses the newest toast when focus is inside one.
    document.addEventListener("keydown", function (event) {
      if (event.key !== ESCAPE || !document.activeElement) {
        return;
      }
      var toast = document.activeElement.closest && document.activeElement.closest("[data-toast]");
      if (toast) {
        dismissToast(toast);
      }
    });
  }

  /* ------------------------------------------------------------------------------------
   * Copy to clipboard: <button data-copy-target="element-id" data-copy-announce="Copied">
   * ---------------------------------------------------------------------------------- */
  function textOf(element) {
    if ("value" in element && (element.tagName === "INPUT" || element.tagName === "TEXTAREA")) {
      return element.value;
    }
    return element.textContent.replace(/\s+$/, "");
  }

  function legacyCopy(text) {
    // Clipboard API needs a secure context; plain-HTTP development servers fall back here.
    var scratch = document.createElement("textarea");
    scratch.value = text;
    scratch.setAttribute("readonly", "");
    scratch.className = "visually-hidden";
    document.body.appendChild(scratch);
    scratch.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (error) {
      ok = false;
    }
    scratch.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        return legacyCopy(text);
      });
    }
    return legacyCopy(text);
  }

  function initCopyButtons() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("[data-copy-target]");
      if (!button) {
        return;
      }
      var source = document.getElementById(button.getAttribute("data-copy-target"));
      if (!source) {
        return;
      }
      var region = document.getElementById("live-region");
      copyText(textOf(source)).then(
        function () {
          var message = button.getAttribute("data-copy-announce") ||
            (region && region.getAttribute("data-copied")) || "Copied";
          announce(message);
          button.classList.add("is-copied");
          var label = button.querySelector("[data-copy-label]");
          var original = label ? label.textContent : null;
          if (label) {
            label.textContent = message;
          }
          window.setTimeout(function () {
            button.classList.remove("is-copied");
            if (label) {
              label.textContent = original;
            }
          }, 2000);
        },
        function () {
          var failed = button.getAttribute("data-copy-failed") ||
            (region && region.getAttribute("data-copy-failed")) || "";
          announce(failed);
        }
      );
    });
  }

  /* ------------------------------------------------------------------------------------ */
  function init() {
    initDisclosures();
    initAutosubmit();
    initToasts();
    initCopyButtons();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
