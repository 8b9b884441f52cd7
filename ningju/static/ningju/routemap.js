/* Route map: the day's numbered places (a building's households under one marker) and the walking path (office → stops → office) on a Leaflet map.
   The data comes embedded in the page (json_script "route-map-data"), already in the tiles' datum. Vector layers
   need no tiles, so when no tile server answers (a stairwell, an intranet) the route still draws on the plain
   background and a small note says why the streets are missing. */
(function () {
  "use strict";

  function draw() {
    var element = document.getElementById("route-map");
    var source = document.getElementById("route-map-data");
    if (!element || !source || typeof L === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var note = document.getElementById("route-map-note");

    function showNote(text) {
      if (note && note.hidden) {
        note.textContent = text;
        note.hidden = false;
      }
      element.classList.add("no-tiles");
    }

    var map = L.map(element, { zoomSnap: 0.5 });
    data.tiles.layers.forEach(function (layer) {
      var tiles = L.tileLayer(layer.url, layer.options);
      tiles.on("tileerror", function () {
        showNote(data.text.tiles_failed);
      });
      tiles.addTo(map);
    });
    if (!data.tiles.layers.length) {
      showNote(data.text.no_tiles);
    }

    if (data.path.length > 1) {
      L.polyline(data.path, { className: "route-path", color: "#c62f2f", weight: 4, opacity: 0.75, interactive: false }).addTo(map);
    }

    var points = [];
    if (data.office) {
      var label = document.createElement("span");
      label.className = "route-office";
      label.textContent = data.text.office;
      L.marker(data.office, {
        // A zero-size anchor with the label centred on it: the label is as wide as its text in any language.
        icon: L.divIcon({ className: "route-office-anchor", html: label, iconSize: [0, 0] }),
        title: data.text.office,
        keyboard: false,
      }).addTo(map);
      points.push(data.office);
    }

    function focusStop(seq) {
      var item = document.getElementById("stop-" + seq);
      if (!item) {
        return;
      }
      document.querySelectorAll("ol.stops li.focus").forEach(function (other) {
        other.classList.remove("focus");
      });
      item.classList.add("focus");
      item.scrollIntoView({ behavior: "smooth", block: "center" });
    }

    // One marker per place: a building's households share it, and its popup lists each household's stop number
    // and state, each a link to the stop in the list below.
    function popupFor(marker) {
      var box = document.createElement("div");
      box.className = "route-popup";
      var list = document.createElement("ul");
      marker.stops.forEach(function (stop) {
        var item = document.createElement("li");
        item.className = stop.done ? "done" : "";
        var link = document.createElement("a");
        link.href = "#stop-" + stop.seq;
        link.textContent = stop.seq + ". " + stop.label;
        link.addEventListener("click", function (event) {
          event.preventDefault();
          focusStop(stop.seq);
        });
        var state = document.createElement("span");
        state.className = "badge" + (stop.done ? " ok" : "");
        state.textContent = stop.done ? data.text.done : data.text.not_done;
        item.appendChild(link);
        item.appendChild(document.createTextNode(" "));
        item.appendChild(state);
        list.appendChild(item);
      });
      box.appendChild(list);
      return box;
    }

    data.markers.forEach(function (marker) {
      // An element, not a string: Leaflet puts a string in as HTML. Labels (road names) go only into text nodes.
      var number = document.createElement("span");
      number.textContent = marker.text;
      var several = marker.stops.length > 1;
      var width = several ? Math.max(30, 12 + 8 * marker.text.length) : 30;
      var icon = L.divIcon({
        className: "route-stop" + (marker.done ? " done" : "") + (several ? " several" : ""),
        html: number,
        iconSize: [width, 30],
      });
      var title = marker.stops
        .map(function (stop) {
          return stop.seq + ". " + stop.label + (stop.done ? " · " + data.text.done : "");
        })
        .join("\n");
      var placed = L.marker(marker.at, { icon: icon, title: title, alt: title, riseOnHover: true }).addTo(map);
      if (several) {
        placed.bindPopup(popupFor(marker), { maxWidth: 280 });
      } else {
        placed.on("click", function () {
          focusStop(marker.stops[0].seq);
        });
      }
      points.push(marker.at);
    });

    if (points.length === 1) {
      map.setView(points[0], 17);
    } else if (points.length > 1) {
      map.fitBounds(points, { padding: [28, 28], maxZoom: 18 });
    } else {
      map.setView([31.2304, 121.4737], 13);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
