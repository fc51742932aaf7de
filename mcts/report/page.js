// The report page: draws the plotly figures embedded as JSON and runs the task picker.
// All text goes into the page through textContent (never innerHTML): model output is untrusted.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var config = { responsive: true, displaylogo: false };
  var figures = data.figures || {};
  Object.keys(figures).forEach(function (name) {
    var el = document.getElementById("fig-" + name);
    if (el) Plotly.newPlot(el, figures[name].data, figures[name].layout, config);
  });

  var tasks = data.tasks || [];
  var list = document.getElementById("task-list");
  if (!list) return;
  var search = document.getElementById("task-search");
  var failedOnly = document.getElementById("failed-only");
  var treeDiv = document.getElementById("tree");

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
  }

  function showTask(i) {
    var t = tasks[i];
    document.getElementById("task-title").textContent = t.id + (t.solved ? "  ✓ solved" : "  ✗ not solved");
    treeDiv.setAttribute("data-task", t.id);
    var info = document.getElementById("task-info");
    info.textContent = "";
    [["tokens", t.tokens], ["simulations", t.simulations], ["seconds", t.seconds],
     ["calls", Object.keys(t.calls).map(function (k) { return k + " " + t.calls[k]; }).join(", ")],
     ["nodes drawn", t.shown + " of " + t.total], ["best", t.best]].forEach(function (kv) {
      var row = document.createElement("tr");
      cell(row, kv[0]);
      cell(row, String(kv[1]));
      info.appendChild(row);
    });
    var note = document.getElementById("tree-note");
    note.textContent = t.note || "";
    var trace = data.trees[i];
    if (trace) {
      treeDiv.style.display = "";
      Plotly.react(treeDiv, [trace], data.tree_layout, config);
    } else {
      Plotly.purge(treeDiv);
      treeDiv.style.display = "none";
    }
  }

  function refill() {
    var needle = search.value.trim().toLowerCase();
    var keep = list.value;
    list.textContent = "";
    var shown = 0;
    tasks.forEach(function (t, i) {
      if (failedOnly.checked && t.solved) return;
      if (needle && t.id.toLowerCase().indexOf(needle) < 0) return;
      var opt = document.createElement("option");
      opt.value = String(i);
      opt.textContent = (t.solved ? "✓ " : "✗ ") + t.id;
      list.appendChild(opt);
      shown += 1;
    });
    document.getElementById("task-count").textContent = shown + " of " + tasks.length + " tasks";
    if (keep && list.querySelector('option[value="' + keep + '"]')) list.value = keep;
    else if (list.options.length) { list.selectedIndex = 0; showTask(Number(list.value)); }
  }

  list.addEventListener("change", function () { if (list.value !== "") showTask(Number(list.value)); });
  search.addEventListener("input", refill);
  failedOnly.addEventListener("change", refill);
  refill();
})();
