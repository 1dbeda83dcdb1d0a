/*
 * Docs pages: small conveniences on top of portal.js (which already wires the copy
 * buttons through [data-copy-target]). Vanilla JS, no globals; every page works without it.
 *
 *   [data-docs-nav]   <details> holding the docs sidebar: open on wide screens, closed on
 *                     phones so the article comes first (it ships open for no-JS readers)
 *   .docs-toc         "On this page": marks the heading in view with aria-current="true"
 */
(function () {
  "use strict";

  var WIDE = window.matchMedia ? window.matchMedia("(min-width: 960px)") : null;

  function initNav() {
    var navs = document.querySelectorAll("[data-docs-nav]");
    if (!navs.length || !WIDE) {
      return;
    }
    function apply() {
      navs.forEach(function (nav) {
        nav.open = WIDE.matches;
      });
    }
    apply();
    if (WIDE.addEventListener) {
      WIDE.addEventListener("change", apply);
    }
  }

  function initToc() {
    var toc = document.querySelector(".docs-toc");
    if (!toc || !("IntersectionObserver" in window)) {
      return;
    }
    var links = {};
    toc.querySelectorAll("a[href^='#']").forEach(function (link) {
      links[decodeURIComponent(link.getAttribute("href").slice(1))] = link;
    });
    var current = null;
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) {
          return;
        }
        var link = links[entry.target.id];
        if (!link) {
          return;
        }
        if (current) {
          current.removeAttribute("aria-current");
        }
        link.setAttribute("aria-current", "true");
        current = link;
      });
    }, { rootMargin: "0px 0px -70% 0px" });
    Object.keys(links).forEach(function (id) {
      var heading = document.getElementById(id);
      if (heading) {
        observer.observe(heading);
      }
    });
  }

  function init() {
    initNav();
    initToc();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
