// kzdiplo report search: every word must start a word in a record's text.
// Runs on window.KZDIPLO_INDEX (search-index.js); builds results with DOM nodes only.
(function () {
  "use strict";
  var box = document.getElementById("q");
  var list = document.getElementById("results");
  var index = window.KZDIPLO_INDEX || [];
  if (!box || !list) return;
  function words(text) {
    return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  }
  function snippet(text, word) {
    var at = text.toLowerCase().search(new RegExp("(^|[^\\p{L}\\p{N}])" + word, "u"));
    var start = Math.max(0, at - 60);
    return [text.slice(start, at + 1), text.substr(at + 1, word.length), text.substr(at + 1 + word.length, 80)];
  }
  box.addEventListener("input", function () {
    var wanted = words(box.value);
    list.textContent = "";
    if (!wanted.length) return;
    index.forEach(function (entry) {
      var have = words(entry.title + " " + entry.text);
      var ok = wanted.every(function (w) {
        return have.some(function (h) { return h.indexOf(w) === 0; });
      });
      if (!ok) return;
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = entry.href;
      link.textContent = entry.title;
      item.appendChild(link);
      item.appendChild(document.createTextNode(" (" + entry.noun + ") "));
      var parts = snippet(entry.title + " " + entry.text, wanted[0]);
      var span = document.createElement("span");
      var mark = document.createElement("mark");
      span.appendChild(document.createTextNode("…" + parts[0]));
      mark.textContent = parts[1];
      span.appendChild(mark);
      span.appendChild(document.createTextNode(parts[2] + "…"));
      item.appendChild(span);
      list.appendChild(item);
    });
    if (!list.children.length) {
      var none = document.createElement("li");
      none.textContent = "No record matches every word.";
      list.appendChild(none);
    }
  });
})();
