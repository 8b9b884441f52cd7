/* Small behaviours shared by every page, declared in the markup with data attributes instead of inline on*=
   handlers (the Content-Security-Policy runs no inline script). Listeners sit on the document, so content that
   htmx swaps in later behaves the same.

     <select data-autosubmit>                     submits its form when the choice changes (the language switch)
     <form data-confirm="…">                      asks before submitting; "cancel" keeps the page as it is
     <button data-print>                          prints the page
     <input data-set-on-change="period=custom">   on change, sets another field of its form (typing a date picks
                                                  the custom statistics period)
     <label data-reload-with="compound"><select>  on change of the field (or one inside), reloads the page with
                                                  ?compound=<value> (a form whose other fields depend on it)
     <button data-suggest-category="12">          fills the category select #id_category (demand intake)
     <a href="#site-menu" data-menu-toggle         opens and closes the phone's menu sheet (the tab bar's 更多);
        aria-controls="site-menu">                 Escape, a tap outside or [data-menu-close] close it */
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) {
      return;
    }
    if (target.hasAttribute("data-autosubmit") && target.form) {
      target.form.submit();
      return;
    }
    var assignment = target.getAttribute("data-set-on-change");
    if (assignment && target.form) {
      var at = assignment.indexOf("=");
      var field = target.form.elements.namedItem(assignment.slice(0, at));
      if (field && "value" in field) {
        field.value = assignment.slice(at + 1);
      }
    }
    var holder = target.closest("[data-reload-with]");
    var parameter = holder && holder.getAttribute("data-reload-with");
    if (parameter && target.value) {
      window.location.search = "?" + encodeURIComponent(parameter) + "=" + encodeURIComponent(target.value);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) {
      return;
    }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);  // capture: asked before any other submit handler (htmx) acts on the form

  function setMenu(toggle, open) {
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!menu) {
      return;
    }
    menu.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      var first = menu.querySelector("a, button, summary, select");
      if (first) {
        first.focus();
      }
    } else if (menu.contains(document.activeElement)) {
      toggle.focus();
    }
  }

  function openMenuToggle() {
    return document.querySelector("[data-menu-toggle][aria-expanded='true']");
  }

  document.addEventListener("keydown", function (event) {
    var open = openMenuToggle();
    if (event.key === "Escape" && open) {
      setMenu(open, false);
    } else if (event.key === " " && event.target instanceof Element && event.target.hasAttribute("data-menu-toggle")) {
      event.preventDefault();  // a link acting as a button answers the space bar too
      event.target.click();
    }
  });

  document.addEventListener("click", function (event) {
    if (!(event.target instanceof Element)) {
      return;
    }
    var toggle = event.target.closest("[data-menu-toggle]");
    if (toggle) {
      event.preventDefault();  // the link's #site-menu is the fallback without script; no jump, no history entry
      setMenu(toggle, toggle.getAttribute("aria-expanded") !== "true");
      return;
    }
    var open = openMenuToggle();
    if (open && (event.target.closest("[data-menu-close]") || !event.target.closest("#" + open.getAttribute("aria-controls")))) {
      if (event.target.closest("[data-menu-close]")) {
        event.preventDefault();
      }
      setMenu(open, false);
    }
    if (event.target.closest("[data-print]")) {
      window.print();
      return;
    }
    // "采用此分类": nothing is chosen without this click.
    var suggestion = event.target.closest("[data-suggest-category]");
    var select = document.getElementById("id_category");
    if (suggestion && select) {
      select.value = suggestion.getAttribute("data-suggest-category");
      select.dispatchEvent(new Event("change", { bubbles: true }));
      select.focus();
    }
  });
})();
