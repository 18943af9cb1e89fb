// kzdiplo report search: every word must start a word of a record's text.
// The index is split into files (see kzdiplo/web/searchshards.py): search-index.js names
// the keys (a word's first two letters) and how many files each has; a query loads only
// the files of its words' keys, then the few files describing the records it shows.
// Files are loaded with <script> (fetch of a file:// URL is blocked). Results are built
// with DOM nodes only.
(function () {
  "use strict";
  var box = document.getElementById("q");
  var list = document.getElementById("results");
  var keys = window.KZDIPLO_SEARCH_KEYS || {};
  var perFile = window.KZDIPLO_SEARCH_DOCS || 500;
  var SHOWN = 50; // results listed at most
  var parts = {}; // "key.n" -> [[word, [record numbers]], ...]
  var docs = {}; // file number -> [[title, kind, page, text], ...]
  var loading = {}; // file name -> Promise
  var asked = 0; // the latest query: an older one's answer is dropped
  if (!box || !list) return;
  window.KZDIPLO_SEARCH = {
    part: function (key, n, words) { parts[key + "." + n] = words; },
    docs: function (n, entries) { docs[n] = entries; }
  };
  function load(name) {
    if (!loading[name]) {
      loading[name] = new Promise(function (done) {
        var script = document.createElement("script");
        script.src = "search/" + name + ".js";
        script.onload = done;
        script.onerror = done; // a missing file is an empty one
        document.head.appendChild(script);
      });
    }
    return loading[name];
  }
  function words(text) {
    return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  }
  function hex(word, letters) {
    return Array.from(word).slice(0, letters).map(function (c) {
      return c.codePointAt(0).toString(16);
    }).join("-");
  }
  function keysFor(word) {
    // a word of one letter: every key that starts with it
    if (Array.from(word).length >= 2) return keys[hex(word, 2)] ? [hex(word, 2)] : [];
    var first = hex(word, 1);
    return Object.keys(keys).filter(function (k) { return k === first || k.indexOf(first + "-") === 0; });
  }
  function partNames(word) {
    var names = [];
    keysFor(word).forEach(function (key) {
      for (var n = 0; n < keys[key]; n++) names.push(key + "." + n);
    });
    return names;
  }
  function matching(word) {
    // the records with a word starting with `word`, from its key's files
    var found = new Set();
    partNames(word).forEach(function (name) {
      (parts[name] || []).forEach(function (entry) {
        if (entry[0].indexOf(word) === 0) entry[1].forEach(function (d) { found.add(d); });
      });
    });
    return found;
  }
  function snippet(text, word) {
    var at = text.toLowerCase().search(new RegExp("(^|[^\\p{L}\\p{N}])" + word, "u"));
    if (at < 0) return [text.slice(0, 140), "", ""];
    var start = Math.max(0, at - 60);
    return [text.slice(start, at + 1), text.substr(at + 1, word.length), text.substr(at + 1 + word.length, 80)];
  }
  function entry(doc) {
    var file = docs[Math.floor(doc / perFile)] || [];
    return file[doc % perFile];
  }
  function show(found, total, wanted) {
    list.textContent = "";
    found.forEach(function (doc) {
      var e = entry(doc);
      if (!e) return;
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = e[2];
      link.textContent = e[0];
      item.appendChild(link);
      item.appendChild(document.createTextNode(" (" + e[1] + ") "));
      var parts = snippet(e[0] + " " + e[3], wanted[0]);
      var span = document.createElement("span");
      var mark = document.createElement("mark");
      span.appendChild(document.createTextNode("…" + parts[0]));
      mark.textContent = parts[1];
      if (parts[1]) span.appendChild(mark);
      span.appendChild(document.createTextNode(parts[2] + "…"));
      item.appendChild(span);
      list.appendChild(item);
    });
    var note = document.createElement("li");
    if (!total) note.textContent = "No record matches every word.";
    else if (total > found.length) note.textContent = "… and " + (total - found.length) + " more: add a word to narrow the search.";
    if (note.textContent) list.appendChild(note);
  }
  box.addEventListener("input", function () {
    var wanted = words(box.value);
    var query = ++asked;
    if (!wanted.length) { list.textContent = ""; return; }
    var names = [];
    wanted.forEach(function (w) { names = names.concat(partNames(w)); });
    Promise.all(names.map(function (n) { return load("w-" + n); })).then(function () {
      if (query !== asked) return;
      var sets = wanted.map(matching);
      var all = Array.from(sets[0]).filter(function (d) {
        return sets.every(function (s) { return s.has(d); });
      }).sort(function (a, b) { return a - b; });
      var found = all.slice(0, SHOWN);
      var files = Array.from(new Set(found.map(function (d) { return Math.floor(d / perFile); })));
      return Promise.all(files.map(function (n) { return load("d-" + n); })).then(function () {
        if (query === asked) show(found, all.length, wanted);
      });
    });
  });
})();
