// Links that open a lab's notebook in the learner's own JupyterLab (http://127.0.0.1:8888/lab/tree/...) work
// only where the site is served on the learner's machine: `make course`, the compose environment, `mkdocs serve`.
// On a hosted copy they would lead nowhere, so there each one becomes its own text again: the notebook's path.
// Where the site's server says where JupyterLab is (the compose environment's /mastery-environment.json, whose
// `lab` is its URL, another port perhaps), the links go there instead.
// scripts/site_hooks.py writes the links, with the class `mastery-lab-link`.
(function () {
  "use strict";
  var LOCAL = ["127.0.0.1", "localhost", "[::1]"];
  var DEFAULT_LAB = "http://127.0.0.1:8888";
  var labUrl = null; // a promise of the environment's JupyterLab URL, or of null; asked once per visit

  function environmentLab() {
    if (labUrl === null) {
      labUrl = fetch("/mastery-environment.json", { cache: "no-store" })
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (found) {
          return found && typeof found.lab === "string" && /^https?:\/\//.test(found.lab) ? found.lab.replace(/\/+$/, "") : null;
        })
        .catch(function () { return null; });
    }
    return labUrl;
  }

  function fixLinks() {
    var links = Array.prototype.slice.call(document.querySelectorAll("a.mastery-lab-link"));
    if (links.length === 0) {
      return;
    }
    if (LOCAL.indexOf(window.location.hostname) === -1) {
      links.forEach(function (link) {
        link.replaceWith.apply(link, Array.prototype.slice.call(link.childNodes));
      });
      return;
    }
    environmentLab().then(function (lab) {
      if (!lab || lab === DEFAULT_LAB) {
        return;
      }
      links.forEach(function (link) {
        var href = link.getAttribute("href") || "";
        if (href.indexOf(DEFAULT_LAB + "/") === 0) {
          link.setAttribute("href", lab + href.slice(DEFAULT_LAB.length));
        }
      });
    });
  }

  if (typeof window.document$ !== "undefined") {
    window.document$.subscribe(fixLinks); // Material's instant navigation swaps pages without a reload
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fixLinks);
  } else {
    fixLinks();
  }
})();
