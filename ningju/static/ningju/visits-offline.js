/* Visit logging that survives a stairwell: visits wait in the phone's outbox (IndexedDB) until they are uploaded
 * to the idempotent API (POST /api/v1/visits/, keyed by a UUID made here), and a service worker keeps the pages.
 *
 * On any page: <script src=".../visits-offline.js" data-sw="/visits/sw.js" data-user="username" defer> registers
 * the service worker, remembers the visit forms linked from the page for offline use, uploads waiting visits, and
 * fills any element marked data-visit-sync-status with "待同步 N 条" / "已同步" (data-text-pending, data-text-synced …
 * on the script element give them in the page's language). On the visit form page it also
 * takes over the form (see #visit-config).
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var configElement = document.getElementById("visit-config");
  var config = configElement ? JSON.parse(configElement.textContent) : {};
  var user = config.user || (script && script.dataset.user) || "";
  var swUrl = config.sw || (script && script.dataset.sw) || "";
  var scope = config.scope || swUrl.replace(/[^/]*$/, "") || "/visits/";
  var api = config.api || (script && script.dataset.api) || "/api/v1/visits/";
  // The page's language: the visit form's #visit-config, or the script element's data-text-* attributes (the route
  // page: data-text-synced="已同步" …); the Chinese below only if neither names a text.
  var scriptText = {};
  if (script) {
    Object.keys(script.dataset).forEach(function (key) {
      if (/^text[A-Z]/.test(key)) {
        scriptText[key.charAt(4).toLowerCase() + key.slice(5)] = script.dataset[key];
      }
    });
  }
  var text = Object.assign(
    {
      pending: "待同步 %(n)s 条",
      synced: "已同步",
      syncing: "正在同步…",
      login: "登录已过期：请重新登录，待同步的记录会在登录后上传。",
      failed: "有记录上传失败：",
      demand_number: "诉求 #%(n)s",
    },
    scriptText,
    config.text || {}
  );
  var links = config.links || {};

  // --- the outbox: IndexedDB, or localStorage where IndexedDB cannot be opened (some private modes) ---------

  var DB_NAME = "ningju-visits";
  var STORE = "outbox";

  function openDb() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) return reject(new Error("no IndexedDB"));
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "id" });
      };
      request.onsuccess = function () {
        resolve(request.result);
      };
      request.onerror = function () {
        reject(request.error);
      };
    });
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(STORE, mode);
        var request = work(transaction.objectStore(STORE));
        var result;
        request.onsuccess = function () {
          result = request.result;
        };
        // Resolved only when the transaction is committed: a visit is "saved" once it is on disk.
        transaction.oncomplete = function () {
          db.close();
          resolve(result);
        };
        transaction.onerror = transaction.onabort = function () {
          db.close();
          reject(transaction.error);
        };
      });
    });
  }

  var LOCAL_KEY = "ningju-visits-outbox";
  var local = {
    read: function () {
      try {
        return JSON.parse(localStorage.getItem(LOCAL_KEY) || "{}");
      } catch (error) {
        return {};
      }
    },
    write: function (items) {
      localStorage.setItem(LOCAL_KEY, JSON.stringify(items));
    },
  };

  var outbox = {
    put: function (item) {
      return withStore("readwrite", function (store) {
        return store.put(item);
      }).catch(function () {
        var items = local.read();
        items[item.id] = item;
        local.write(items);
      });
    },
    remove: function (id) {
      var items = local.read();
      if (items[id]) {
        delete items[id];
        local.write(items);
      }
      return withStore("readwrite", function (store) {
        return store.delete(id);
      }).catch(function () {});
    },
    all: function () {
      var fallback = Object.values(local.read());
      return withStore("readonly", function (store) {
        return store.getAll();
      })
        .then(function (items) {
          return items.concat(fallback);
        })
        .catch(function () {
          return fallback;
        });
    },
  };

  function mine(items) {
    // Visits wait for the cadre who made them: a colleague signing in on the same phone does not upload them.
    return items.filter(function (item) {
      return item.user === user;
    });
  }

  // --- upload -----------------------------------------------------------------------------------------------

  function csrfToken() {
    // The cookie, not the page: a page kept offline since before the last sign-in carries an old token.
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function describe(body) {
    if (!body || typeof body !== "object") return "";
    if (typeof body.detail === "string") return body.detail;
    return Object.keys(body)
      .map(function (key) {
        var value = body[key];
        if (Array.isArray(value)) return value.join(" ");
        return typeof value === "object" ? describe(value) : String(value);
      })
      .join("；");
  }

  var problem = null; // "login" when the session has expired; shown until the next successful upload
  var queue = Promise.resolve();
  var onUploaded = null; // the visit form's hook: told the server's answer for each visit it stored

  function upload(item) {
    return fetch(api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(item.payload),
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (body) {
          return { status: response.status, ok: response.ok, body: body };
        });
    });
  }

  function syncOnce(retryFailed) {
    return outbox.all().then(function (items) {
      var queue = mine(items).filter(function (item) {
        return retryFailed || item.state !== "failed";
      });
      queue.sort(function (a, b) {
        return a.savedAt < b.savedAt ? -1 : 1;
      });
      problem = null;
      if (queue.length) {
        document.querySelectorAll("[data-visit-sync-status], #visit-sync-status").forEach(function (element) {
          element.textContent = text.syncing;
        });
      }
      var chain = Promise.resolve(true);
      queue.forEach(function (item) {
        chain = chain.then(function (goOn) {
          if (!goOn) return false;
          return upload(item).then(
            function (result) {
              if (result.ok) {
                if (onUploaded) onUploaded(item.id, result.body);
                return outbox.remove(item.id).then(function () { return true; });
              }
              var csrf = result.status === 403 && /^CSRF/.test(String(result.body.detail || ""));
              // A new sign-in that has not yet passed the two-step code: the visit waits for it, like for a
              // sign-in that ran out (not marked failed, which only the 同步 button would retry).
              var secondFactor = result.status === 403 && result.body.code === "mfa_required";
              if (result.status === 401 || csrf || secondFactor) {
                problem = "login";
                return false;
              }
              if (result.status >= 500 || result.status === 429) return false; // the server's trouble: later
              // 400, 403, 404, 409: this visit will not be accepted as it is. Keep it, marked, so that the
              // cadre reads why; the 同步 button tries it again.
              item.state = "failed";
              item.error = describe(result.body) || String(result.status);
              return outbox.put(item).then(function () { return true; });
            },
            function () {
              return false; // no network: everything stays for the next try
            }
          );
        });
      });
      return chain;
    });
  }

  function sync(retryFailed) {
    // One upload round at a time; a round asked for meanwhile runs after it and sees the newest outbox.
    queue = queue
      .then(function () {
        return syncOnce(Boolean(retryFailed));
      })
      .catch(function () {})
      .then(show)
      .catch(function () {});
    return queue;
  }

  function show() {
    return outbox.all().then(function (items) {
      items = mine(items);
      var failed = items.filter(function (item) { return item.state === "failed"; });
      var pending = items.length - failed.length;
      var label = pending ? text.pending.replace("%(n)s", String(pending)) : text.synced;
      document.querySelectorAll("[data-visit-sync-status], #visit-sync-status").forEach(function (element) {
        element.textContent = label;
        element.dataset.pending = String(pending);
        element.classList.toggle("waiting", pending > 0);
      });
      var box = document.getElementById("visit-sync-problem");
      if (box) {
        var lines = [];
        if (problem === "login") lines.push(text.login);
        if (failed.length) {
          lines.push(text.failed);
          failed.forEach(function (item) {
            lines.push((item.payload.visited_at || "").slice(0, 16).replace("T", " ") + " " + item.error);
          });
        }
        box.textContent = "";
        lines.forEach(function (line) {
          var p = document.createElement("p");
          p.textContent = line;
          box.appendChild(p);
        });
        box.hidden = lines.length === 0;
      }
      return pending;
    });
  }

  // --- service worker: keep today's visit pages on the phone ---------------------------------------------------

  function registerServiceWorker() {
    if (!swUrl || !("serviceWorker" in navigator)) return;
    var previous = localStorage.getItem("ningju-visits-user");
    localStorage.setItem("ningju-visits-user", user);
    navigator.serviceWorker
      .register(swUrl, { scope: scope })
      .then(function () {
        return navigator.serviceWorker.ready;
      })
      .then(function (registration) {
        var worker = registration.active;
        if (!worker) return;
        // Another cadre's pages (names, addresses) must not open offline for this one.
        if (previous && previous !== user) worker.postMessage({ type: "forget" });
        var urls = [location.href];
        document.querySelectorAll('a[href*="' + scope + 'new/"]').forEach(function (link) {
          urls.push(link.href);
        });
        worker.postMessage({ type: "remember", urls: urls });
      })
      .catch(function () {});
  }

  // --- the visit form ---------------------------------------------------------------------------------------

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map
      .call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); })
      .join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function localNow() {
    var now = new Date();
    var pad = function (n) { return ("0" + n).slice(-2); };
    return (
      now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate()) +
      "T" + pad(now.getHours()) + ":" + pad(now.getMinutes())
    );
  }

  function fresh(form) {
    // Every opening of the form is a new visit: the id is made here, never taken from a page kept offline.
    form.elements.id.value = newId();
    form.elements.visited_at.value = localNow();
  }

  function locate(form) {
    var gps = document.getElementById("visit-gps");
    if (!("geolocation" in navigator)) return;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        form.elements.lat.value = position.coords.latitude.toFixed(6);
        form.elements.lng.value = position.coords.longitude.toFixed(6);
        if (gps) gps.textContent = text.located + "（±" + Math.round(position.coords.accuracy) + " m）";
      },
      function () {
        if (gps) gps.textContent = text.no_location;
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 120000 }
    );
  }

  function payloadOf(form) {
    var data = new FormData(form);
    var value = function (name) { return String(data.get(name) || "").trim(); };
    var when = new Date(value("visited_at")); // a datetime-local value is the phone's local time
    var payload = {
      id: value("id"),
      household: config.household,
      patrol_site: config.patrol_site,
      visited_at: (isNaN(when.getTime()) ? new Date() : when).toISOString(),
      mode: value("mode"),
      way: value("way"),
      met: value("met"),
      notes: value("notes"),
      mood: value("mood"),
      needs: value("needs"),
      lat: value("lat") ? Number(value("lat")) : null,
      lng: value("lng") ? Number(value("lng")) : null,
      findings: value("findings").split("\n").map(function (line) { return line.trim(); }).filter(Boolean),
    };
    if (config.initial) {
      // Only what the cadre changed travels, so an upload hours later cannot undo a colleague's correction.
      var corrections = {};
      if (value("tenure") && value("tenure") !== config.initial.tenure) corrections.tenure = value("tenure");
      if (value("household_notes") !== config.initial.notes.trim()) corrections.notes = value("household_notes");
      var tags = data.getAll("tags").map(Number).sort(function (a, b) { return a - b; });
      if (JSON.stringify(tags) !== JSON.stringify(config.initial.tags)) corrections.tags = tags;
      if (Object.keys(corrections).length) payload.corrections = corrections;
    }
    return payload;
  }

  function showCreated(payload, body) {
    // What the server made of the visit: each finding's demand with its number and a link, and the visit itself.
    // Before the upload (body null) only a note that the findings will be filed then.
    var box = document.getElementById("visit-done-demands");
    var list = document.getElementById("visit-done-list");
    var waiting = document.getElementById("visit-done-waiting");
    var visitLink = document.getElementById("visit-done-visit");
    if (!box || !list) return;
    list.textContent = "";
    var findings = body && Array.isArray(body.findings) ? body.findings.slice() : [];
    findings.sort(function (a, b) { return a.id - b.id; });
    findings.forEach(function (finding) {
      if (finding.demand === null || finding.demand === undefined || !links.demand) return;
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = links.demand.replace(links.demand_placeholder, String(finding.demand));
      link.textContent = text.demand_number.replace("%(n)s", String(finding.demand));
      item.appendChild(link);
      item.appendChild(document.createTextNode(" " + finding.text));
      list.appendChild(item);
    });
    box.hidden = list.children.length === 0;
    if (waiting) waiting.hidden = Boolean(body) || !(payload && payload.findings && payload.findings.length);
    if (visitLink) {
      visitLink.hidden = !(body && body.id && links.visit);
      if (!visitLink.hidden) visitLink.href = links.visit.replace(links.visit_placeholder, String(body.id));
    }
  }

  function setUpForm(form) {
    var done = document.getElementById("visit-done");
    var doneText = document.getElementById("visit-done-text");
    var current = null; // the visit the page shows as saved
    fresh(form);
    locate(form);
    onUploaded = function (id, body) {
      if (!current || id !== current.id) return;
      doneText.textContent = text.saved;
      showCreated(current.payload, body);
    };

    document.querySelectorAll(".chip[data-fill]").forEach(function (chip) {
      chip.addEventListener("click", function () {
        var input = document.getElementById(chip.dataset.fill);
        var current = input.value.trim();
        input.value = chip.dataset.append && current && current.indexOf(chip.dataset.value) < 0
          ? current + "、" + chip.dataset.value
          : chip.dataset.value;
      });
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var payload = payloadOf(form);
      if (!payload.mode) {
        window.alert(text.need_mode);
        return;
      }
      var item = { id: payload.id, user: user, payload: payload, state: "pending", savedAt: new Date().toISOString() };
      outbox
        .put(item)
        .then(function () {
          current = item;
          form.hidden = true;
          done.hidden = false;
          doneText.textContent = text.saved_offline;
          showCreated(payload, null);
          window.scrollTo(0, 0);
          return sync();
        })
        .then(function () {
          return outbox.all();
        })
        .then(function (items) {
          var waiting = items.some(function (other) { return other.id === item.id; });
          doneText.textContent = waiting ? text.saved_offline : text.saved;
        })
        .catch(function () {
          // Nowhere to keep it on the phone: hand the form to the server the old way.
          form.submit();
        });
    });

    document.getElementById("visit-again").addEventListener("click", function () {
      current = null;
      showCreated(null, null);
      form.reset();
      fresh(form);
      locate(form);
      done.hidden = true;
      form.hidden = false;
    });
  }

  // --- start --------------------------------------------------------------------------------------------------

  function start() {
    var form = document.getElementById("visit-form");
    if (form && configElement) setUpForm(form);
    var button = document.getElementById("visit-sync-button");
    if (button) {
      button.addEventListener("click", function () {
        sync(true);
      });
    }
    window.addEventListener("online", function () {
      sync(false);
    });
    registerServiceWorker();
    sync(false);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
