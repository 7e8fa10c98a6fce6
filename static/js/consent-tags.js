// Audience tags of the public site, served only when GTM_ID or CLARITY_ID is configured.
// Google Consent Mode v2: every signal is denied by default, before any tag is loaded.
// Normal mode: Tag Manager loads at once, with the denied defaults (cookieless pings at most).
// Strict mode (data-strict="true"): Tag Manager loads only after acceptance.
// Microsoft Clarity loads only after acceptance, in both modes.
(function () {
  "use strict";

  var script = document.currentScript;
  var config = script.dataset;
  var nonce = script.nonce;
  var consent = window.trupeoConsent;

  window.dataLayer = window.dataLayer || [];
  function gtag() { window.dataLayer.push(arguments); }
  window.gtag = gtag;

  gtag("consent", "default", {
    ad_storage: "denied",
    ad_user_data: "denied",
    ad_personalization: "denied",
    analytics_storage: "denied",
    functionality_storage: "denied",
    personalization_storage: "denied",
    security_storage: "denied",
  });
  gtag("set", "ads_data_redaction", true);
  gtag("set", "url_passthrough", false);
  // GA4 cookies live 13 months at most (policy, section 9).
  gtag("set", { cookie_expires: Number(config.gaCookieExpires) });

  var loaded = { gtm: false, clarity: false };
  var analyticsGranted = false;

  function addScript(src) {
    var tag = document.createElement("script");
    tag.async = true;
    tag.src = src;
    tag.nonce = nonce;
    document.head.appendChild(tag);
  }

  function loadTagManager() {
    if (loaded.gtm || !config.gtmId) return;
    loaded.gtm = true;
    window.dataLayer.push({ "gtm.start": Date.now(), event: "gtm.js" });
    addScript("https://www.googletagmanager.com/gtm.js?id=" + encodeURIComponent(config.gtmId));
  }

  function loadClarity() {
    if (loaded.clarity || !config.clarityId) return;
    loaded.clarity = true;
    window.clarity = window.clarity || function () {
      (window.clarity.q = window.clarity.q || []).push(arguments);
    };
    addScript("https://www.clarity.ms/tag/" + encodeURIComponent(config.clarityId));
    window.clarity("consent");
  }

  function signals(choice) {
    var analytics = choice.analytics ? "granted" : "denied";
    var marketing = choice.marketing ? "granted" : "denied";
    return {
      analytics_storage: analytics,
      ad_storage: marketing,
      ad_user_data: marketing,
      ad_personalization: marketing,
    };
  }

  // Audience cookies on this site and its parent domains (where GA4 sets them).
  function clearAudienceCookies() {
    var names = document.cookie.split(";").map(function (part) { return part.split("=")[0].trim(); })
      .filter(function (name) { return /^(_ga|_gid|_gat|_gcl_|_clck$|_clsk$|CLID$)/.test(name); });
    var host = window.location.hostname.split(".");
    names.forEach(function (name) {
      for (var i = 0; i < Math.max(host.length - 1, 1); i++) {
        var domain = host.slice(i).join(".");
        document.cookie = name + "=; Max-Age=0; path=/; domain=" + domain;
        document.cookie = name + "=; Max-Age=0; path=/";
      }
    });
  }

  function apply(choice) {
    if (choice) {
      gtag("consent", "update", signals(choice));
      analyticsGranted = choice.analytics;
    }
    if (choice && choice.analytics) {
      loadTagManager();
      loadClarity();
    } else if (config.strict !== "true") {
      loadTagManager();
    }
  }

  apply(consent.read());

  consent.onChange(function (choice) {
    var withdrawn = analyticsGranted && !choice.analytics;
    apply(choice);
    if (withdrawn) {
      // Tags already running cannot be unloaded: clear their cookies and start afresh.
      clearAudienceCookies();
      window.location.reload();
    }
  });
})();
