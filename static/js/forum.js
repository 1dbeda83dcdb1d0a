/*
 * Developer Portal: forum behaviour. Vanilla JS, no dependencies, nothing global.
 * Loaded with `defer` by templates/forum/base.html. Every feature works without it:
 * the forms post and the links navigate; this file only makes them quicker.
 *
 *   form[data-like-form]        like/unlike without a page load (aria-pressed, count)
 *   a[data-reply-to]            reply to one post: sets the hidden reply_to, focuses the box
 *   a[data-quote]               quote the selected text of a post (or the whole post)
 *   [data-preview]              a Preview button under a Markdown textarea (server-rendered,
 *                               sanitised exactly as the post will be)
 *   form[data-confirm]          asks before a moderation action
 *   [data-bell]                 keeps the notification count fresh while the tab is visible
 *   [data-split-check]          counts the replies selected for a split
 *   j / k                       next / previous post on a thread page (not while typing)
 */
(function () {
  "use strict";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) {
      return decodeURIComponent(match[1]);
    }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function announce(message) {
    var region = document.getElementById("live-region");
    if (!region || !message) {
      return;
    }
    region.textContent = "";
    window.setTimeout(function () {
      region.textContent = message;
    }, 50);
  }

  function postForm(url, data) {
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) {
        return { ok: response.ok, body: body };
      });
    });
  }

  /* Likes ------------------------------------------------------------------------------ */
  function initLikes() {
    document.addEventListener("submit", function (event) {
      var form = event.target.closest && event.target.closest("form[data-like-form]");
      if (!form || !window.fetch) {
        return;
      }
      event.preventDefault();
      var button = form.querySelector("button");
      var action = form.querySelector("[data-like-action]");
      button.disabled = true;
      // Not form.action: the hidden input named "action" shadows that property.
      postForm(form.getAttribute("action"), new FormData(form))
        .then(function (result) {
          if (!result.ok) {
            announce(result.body.error || "");
            return;
          }
          button.setAttribute("aria-pressed", result.body.liked ? "true" : "false");
          action.value = result.body.liked ? "unlike" : "like";
          var count = form.querySelector("[data-like-count]");
          if (count) {
            count.textContent = String(result.body.count);
          }
        })
        .catch(function () {
          form.submit();
        })
        .then(function () {
          button.disabled = false;
        });
    });
  }

  /* Replying and quoting ----------------------------------------------------------------- */
  function replyBox() {
    var form = document.querySelector("form[data-reply-form]");
    if (!form) {
      return null;
    }
    return {
      form: form,
      textarea: form.querySelector("textarea"),
      replyTo: form.querySelector("input[name=reply_to]"),
      indicator: form.querySelector("[data-replying-to]"),
      label: form.querySelector("[data-replying-to-label]")
    };
  }

  function setReplyTo(box, postId, label) {
    box.replyTo.value = postId || "";
    if (box.indicator) {
      box.indicator.hidden = !postId;
      if (postId && label && box.label) {
        box.label.textContent = label;
      }
    }
  }

  function insertAtEnd(textarea, text) {
    var current = textarea.value.replace(/\s+$/, "");
    textarea.value = (current ? current + "\n\n" : "") + text + "\n\n";
    textarea.focus();
    textarea.setSelectionRange(textarea.value.length, textarea.value.length);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function quoteBlock(author, wrote, text) {
    var lines = text.replace(/\s+$/, "").split("\n").map(function (line) {
      return line ? "> " + line : ">";
    });
    return "> @" + author + " " + wrote + ":\n" + lines.join("\n");
  }

  function selectionInside(element) {
    var selection = window.getSelection && window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) {
      return "";
    }
    var range = selection.getRangeAt(0);
    return element.contains(range.commonAncestorContainer) ? selection.toString() : "";
  }

  function initReplies() {
    var box = replyBox();
    if (!box || !box.textarea) {
      return;
    }
    document.addEventListener("click", function (event) {
      var replyLink = event.target.closest && event.target.closest("a[data-reply-to]");
      if (replyLink) {
        event.preventDefault();
        setReplyTo(box, replyLink.getAttribute("data-reply-to"), replyLink.getAttribute("data-replying-label"));
        box.textarea.focus();
        return;
      }
      var quoteLink = event.target.closest && event.target.closest("a[data-quote]");
      if (quoteLink) {
        event.preventDefault();
        var post = quoteLink.closest("[data-post]");
        var body = post ? post.querySelector(".post-body") : null;
        var selected = body ? selectionInside(body) : "";
        var author = quoteLink.getAttribute("data-quote-author");
        var wrote = quoteLink.getAttribute("data-quote-wrote") || "wrote";
        setReplyTo(box, quoteLink.getAttribute("data-quote-post"), null);
        if (selected) {
          insertAtEnd(box.textarea, quoteBlock(author, wrote, selected));
          return;
        }
        fetch(quoteLink.getAttribute("data-quote"), { credentials: "same-origin" })
          .then(function (response) {
            if (!response.ok) {
              throw new Error("quote failed");
            }
            return response.text();
          })
          .then(function (text) {
            insertAtEnd(box.textarea, quoteBlock(author, wrote, text));
          })
          .catch(function () {
            window.location.href = quoteLink.href;
          });
        return;
      }
      var clear = event.target.closest && event.target.closest("[data-replying-to-clear]");
      if (clear) {
        setReplyTo(box, "", null);
        box.textarea.focus();
      }
    });
  }

  /* Preview ---------------------------------------------------------------------------- */
  function initPreviews() {
    document.querySelectorAll("[data-preview]").forEach(function (preview) {
      var form = preview.closest("form");
      var textarea = form ? form.querySelector("textarea[name=body]") : null;
      var button = preview.querySelector("[data-preview-button]");
      var output = preview.querySelector(".preview-output");
      if (!textarea || !button || !output || !window.fetch) {
        return;
      }
      preview.hidden = false;
      button.addEventListener("click", function () {
        if (button.getAttribute("aria-expanded") === "true") {
          button.setAttribute("aria-expanded", "false");
          output.hidden = true;
          return;
        }
        var data = new FormData();
        data.append("body", textarea.value);
        postForm(preview.getAttribute("data-preview-url"), data)
          .then(function (result) {
            // The server sanitised this HTML with the same rules as a published post.
            output.innerHTML = result.ok ? result.body.html : "";
            if (!result.ok) {
              output.textContent = result.body.error || preview.getAttribute("data-preview-error");
            } else if (result.body.redacted) {
              var note = document.createElement("p");
              note.className = "alert alert-warning";
              note.textContent = preview.getAttribute("data-preview-key");
              output.insertBefore(note, output.firstChild);
            }
            output.hidden = false;
            button.setAttribute("aria-expanded", "true");
          })
          .catch(function () {
            output.textContent = preview.getAttribute("data-preview-error");
            output.hidden = false;
          });
      });
    });
  }

  /* Confirmations ---------------------------------------------------------------------- */
  function initConfirm() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var message = form.getAttribute && form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) {
        event.preventDefault();
      }
    }, true);
  }

  /* The bell --------------------------------------------------------------------------- */
  function initBell() {
    var bell = document.querySelector("[data-bell]");
    if (!bell || !window.fetch) {
      return;
    }
    var badge = bell.querySelector("[data-bell-count]");
    function refresh() {
      if (document.visibilityState !== "visible") {
        return;
      }
      fetch(bell.getAttribute("data-count-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (body) {
          if (!body) {
            return;
          }
          var count = body.unread || 0;
          badge.textContent = String(count);
          badge.hidden = count === 0;
          var label = count
            ? (bell.getAttribute("data-label-some") || "").replace("%(count)s", String(count))
            : bell.getAttribute("data-label-none");
          if (label) {
            bell.setAttribute("aria-label", label);
          }
        })
        .catch(function () {});
    }
    window.setInterval(refresh, 60000);
    document.addEventListener("visibilitychange", refresh);
  }

  /* Split selection -------------------------------------------------------------------- */
  function initSplit() {
    var form = document.querySelector("[data-split-form]");
    if (!form) {
      return;
    }
    var counter = form.querySelector("[data-split-count]");
    document.addEventListener("change", function (event) {
      if (!event.target.matches || !event.target.matches("[data-split-check]") || !counter) {
        return;
      }
      var count = document.querySelectorAll("[data-split-check]:checked").length;
      counter.textContent = count ? "(" + count + ")" : "";
    });
  }

  /* j / k between posts ---------------------------------------------------------------- */
  function initKeys() {
    var posts = Array.prototype.slice.call(document.querySelectorAll("[data-post]"));
    if (!posts.length) {
      return;
    }
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || (event.key !== "j" && event.key !== "k")) {
        return;
      }
      var active = document.activeElement;
      if (active && (active.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName))) {
        return;
      }
      var current = active ? active.closest && active.closest("[data-post]") : null;
      var index = current ? posts.indexOf(current) : -1;
      if (index === -1) {
        var middle = window.innerHeight / 3;
        index = posts.findIndex(function (post) {
          return post.getBoundingClientRect().bottom > middle;
        });
        index = event.key === "j" ? Math.max(index - 1, -1) : index + 1;
      }
      var next = posts[event.key === "j" ? index + 1 : index - 1];
      if (next) {
        event.preventDefault();
        next.focus();
        next.scrollIntoView({ block: "start" });
      }
    });
  }

  function init() {
    initLikes();
    initReplies();
    initPreviews();
    initConfirm();
    initBell();
    initSplit();
    initKeys();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
