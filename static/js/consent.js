// The consent banner of the public site (CNIL style). It only remembers and tells the choice:
// tags are loaded by consent-tags.js, served only when some are configured.
// The choice lives in localStorage with the banner version and its date; it is asked again
// when the version changes or the answer is older than the configured lifetime. No choice
// (silence) means refusal.
(function () {
  "use strict";

  var script = document.currentScript;
  var VERSION = script.dataset.version;
  var LIFETIME_MS = Number(script.dataset.lifetimeDays) * 24 * 3600 * 1000;
  var KEY = "trupeo.consent";
  var LANGUAGE_KEY = "trupeo.language";
  var listeners = [];

  function read() {
    var stored;
    try {
      stored = JSON.parse(window.localStorage.getItem(KEY) || "null");
    } catch (error) {
      return null;
    }
    if (!stored || stored.version !== VERSION || !stored.categories) return null;
    var at = Date.parse(stored.timestamp);
    var now = Date.now();
    // Too old, or dated in the future (a clock moved back): ask again.
    if (!(at > 0) || now - at > LIFETIME_MS || at - now > 24 * 3600 * 1000) return null;
    return {
      analytics: stored.categories.analytics === true,
      marketing: stored.categories.marketing === true,
    };
  }

  function store(choice) {
    var clean = { analytics: choice.analytics === true, marketing: choice.marketing === true };
    try {
      window.localStorage.setItem(KEY, JSON.stringify({
        version: VERSION,
        timestamp: new Date().toISOString(),
        categories: { necessary: true, analytics: clean.analytics, marketing: clean.marketing },
      }));
    } catch (error) {
      // Storage refused (private mode): the choice holds for this page only.
    }
    listeners.forEach(function (listener) { listener(clean); });
  }

  window.trupeoConsent = {
    read: read,
    store: store,
    onChange: function (listener) { listeners.push(listener); },
  };

  function banner() { return document.getElementById("consent-banner"); }
  var returnFocus = null;  // where the keyboard was before "Cookie preferences" opened it

  function open(expanded) {
    var element = banner();
    if (!element) return;
    returnFocus = document.activeElement;
    var current = read() || { analytics: false, marketing: false };
    element.querySelectorAll("[data-consent-category]").forEach(function (box) {
      box.checked = current[box.dataset.consentCategory] === true;
    });
    showDetails(element, expanded);
    element.hidden = false;
    var first = element.querySelector("[data-consent-action]");
    if (first) first.focus();
  }

  function showDetails(element, shown) {
    var details = element.querySelector("#consent-details");
    var toggle = element.querySelector("[data-consent-action='customize']");
    if (details) details.hidden = !shown;
    if (toggle) toggle.setAttribute("aria-expanded", shown ? "true" : "false");
  }

  function decide(choice) {
    store(choice);
    var element = banner();
    if (element) element.hidden = true;
    if (returnFocus && returnFocus !== document.body && document.contains(returnFocus)) returnFocus.focus();
    returnFocus = null;
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-consent-open]");
    if (opener) {
      event.preventDefault();
      open(false);
      return;
    }
    var language = event.target.closest("a[data-language]");
    if (language) {
      try { window.localStorage.setItem(LANGUAGE_KEY, language.dataset.language); } catch (error) { /* ignored */ }
      return;
    }
    var button = event.target.closest("#consent-banner [data-consent-action]");
    if (!button) return;
    var element = banner();
    switch (button.dataset.consentAction) {
      case "accept":
        decide({ analytics: true, marketing: true });
        break;
      case "reject":
        decide({ analytics: false, marketing: false });
        break;
      case "customize":
        showDetails(element, element.querySelector("#consent-details").hidden);
        break;
      case "save":
        var choice = {};
        element.querySelectorAll("[data-consent-category]").forEach(function (box) {
          choice[box.dataset.consentCategory] = box.checked;
        });
        decide(choice);
        break;
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    // The page's language is the visitor's current preference.
    try { window.localStorage.setItem(LANGUAGE_KEY, document.documentElement.lang); } catch (error) { /* ignored */ }
    if (script.dataset.auto === "true" && read() === null) open(false);
  });
})();
