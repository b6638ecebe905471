// llmobs-mapping trace view. Renders the embedded view model with textContent only: no data is
// ever parsed as HTML, so markup inside a message shows as text.
(function () {
  "use strict";
  var t0 = performance.now();
  var model = JSON.parse(document.getElementById("view-model").textContent);
  var spans = model.spans;
  var rows = [];
  var collapsed = {};
  var selected = -1;
  var payloadCache = null;
  var KINDS = { llm: 1, workflow: 1, agent: 1, tool: 1, task: 1, embedding: 1, retrieval: 1 };
  var ROLES = { system: 1, user: 1, assistant: 1, tool: 1, reasoning: 1, developer: 1 };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function kindClass(kind) { return "k-" + (KINDS[kind] ? kind : "other"); }
  function roleClass(role) { return "role-" + (ROLES[role] ? role : "other"); }
  function mark(node, path, paths) {
    if (!path) return node;
    node.dataset.path = path;
    (paths[path] = paths[path] || []).push(node);
    return node;
  }
  function section(title) {
    var s = el("section", "section");
    s.appendChild(el("h3", null, title));
    return s;
  }
  function kvTable(entries, paths) {
    var table = el("table", "kv");
    var body = el("tbody");
    entries.forEach(function (entry) {
      var tr = mark(el("tr"), entry[2], paths);
      tr.appendChild(el("td", "key", entry[0]));
      tr.appendChild(el("td", "value", entry[1]));
      body.appendChild(tr);
    });
    table.appendChild(body);
    return table;
  }

  // -- header, summary, differences ---------------------------------------------------------
  function renderTop(app) {
    var bar = el("header", "topbar");
    bar.appendChild(el("span", "product", "LLM Observability"));
    bar.appendChild(el("h1", null, model.title));
    bar.appendChild(el("span", "mode", model.diff_mode ? "diff view" : model.format + " payload"));
    app.appendChild(bar);
    var summary = el("section", "summary");
    summary.id = "summary";
    model.summary.forEach(function (pair) {
      var item = el("div", "item");
      item.appendChild(el("span", "label", pair[0]));
      item.appendChild(el("span", "value", pair[1]));
      summary.appendChild(item);
    });
    if (model.payload_tags.length) {
      var tags = el("div", "item tags");
      tags.appendChild(el("span", "label", "Tags"));
      model.payload_tags.forEach(function (tag) { tags.appendChild(el("span", "chip source-payload", tag)); });
      summary.appendChild(tags);
    }
    app.appendChild(summary);
    if (model.diff_mode) app.appendChild(renderDiffList(model.differences, true));
  }

  function diffEntry(d, withSpan) {
    var row = el("div", "diff-entry");
    row.dataset.kind = d.kind;
    row.appendChild(el("span", "diff-kind kind-" + d.kind, d.kind));
    var where = el("div", "diff-where");
    where.appendChild(el("code", "diff-path", d.path));
    if (withSpan) where.appendChild(el("div", "diff-span", d.position >= 0 ? "span: " + d.span_name : "not in the actual payload"));
    row.appendChild(where);
    var values = el("div", "diff-values");
    if (d.expected !== null) values.appendChild(el("pre", "expected", d.expected));
    if (d.actual !== null) values.appendChild(el("pre", "actual", d.actual));
    row.appendChild(values);
    return row;
  }

  function renderDiffList(differences, top) {
    var box = el("section", top ? "diffs" : "span-diffs");
    if (top) box.id = "differences";
    box.appendChild(el(top ? "h2" : "h3", null, differences.length + (differences.length === 1 ? " difference" : " differences") + (top ? " from the expected payload" : " in this span")));
    if (top && !differences.length) box.appendChild(el("div", "none", "The payloads are equal."));
    differences.forEach(function (d) {
      var row = diffEntry(d, top);
      if (top && d.position >= 0) {
        row.addEventListener("click", function () { select(d.position, d.anchor); });
      }
      box.appendChild(row);
    });
    return box;
  }

  // -- span tree ------------------------------------------------------------------------------
  function renderTree(pane) {
    var axis = el("div", "axis");
    axis.appendChild(el("div", "axis-title", "Span"));
    var ticks = el("div", "ticks");
    model.axis.forEach(function (tick) {
      var t = el("span", "tick", tick[1]);
      t.style.left = tick[0] + "%";
      ticks.appendChild(t);
    });
    axis.appendChild(ticks);
    pane.appendChild(axis);
    var list = el("div", "rows");
    list.id = "span-tree";
    list.setAttribute("role", "tree");
    var frag = document.createDocumentFragment();
    spans.forEach(function (span) {
      var row = el("div", "span-row status-" + (span.status === "error" ? "error" : "ok"));
      row.dataset.position = span.position;
      row.dataset.depth = span.depth;
      row.setAttribute("role", "treeitem");
      row.tabIndex = -1;
      if (span.diff_status) row.classList.add("diff-" + span.diff_status);
      var label = el("div", "row-label");
      label.style.paddingLeft = 8 + span.depth * 16 + "px";
      var caret = el("button", "caret" + (span.has_children ? "" : " leaf"), "▾");
      caret.type = "button";
      caret.setAttribute("aria-label", "collapse");
      caret.addEventListener("click", function (event) { event.stopPropagation(); toggle(span.position); });
      label.appendChild(caret);
      label.appendChild(el("span", "kind " + kindClass(span.kind), span.kind));
      label.appendChild(el("span", "row-name", span.name));
      if (span.status === "error") label.appendChild(el("span", "error-mark", "!"));
      if (span.differences && span.differences.length) label.appendChild(el("span", "diff-count", span.differences.length));
      row.appendChild(label);
      var barCell = el("div", "row-bar");
      var bar = el("div", "bar " + kindClass(span.kind));
      bar.style.left = span.offset_pct + "%";
      bar.style.width = span.width_pct + "%";
      barCell.appendChild(bar);
      var barLabel = el("span", "bar-label", span.duration_text);
      barLabel.style.left = Math.min(span.offset_pct + span.width_pct, 100) + "%";
      barCell.appendChild(barLabel);
      row.appendChild(barCell);
      row.addEventListener("click", function () { select(span.position); });
      rows.push(row);
      frag.appendChild(row);
    });
    list.appendChild(frag);
    list.addEventListener("keydown", onKey);
    pane.appendChild(list);
    if (!spans.length) pane.appendChild(el("div", "empty-trace", "This payload has no spans."));
  }

  function toggle(position) {
    collapsed[position] = !collapsed[position];
    rows[position].querySelector(".caret").textContent = collapsed[position] ? "▸" : "▾";
    var hideUntil = -1;
    for (var i = 0; i < spans.length; i++) {
      var hidden = i <= hideUntil;
      rows[i].classList.toggle("hidden", hidden);
      if (!hidden && collapsed[i]) hideUntil = spans[i].subtree_end;
    }
  }

  function onKey(event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    event.preventDefault();
    var step = event.key === "ArrowDown" ? 1 : -1;
    for (var i = selected + step; i >= 0 && i < rows.length; i += step) {
      if (!rows[i].classList.contains("hidden")) { select(i); rows[i].focus(); return; }
    }
  }

  // -- detail panel ---------------------------------------------------------------------------
  function fact(label, value, path, paths) {
    var f = mark(el("span", "fact"), path, paths);
    f.appendChild(el("span", "label", label));
    f.appendChild(el("span", "value", value));
    return f;
  }

  function renderToolItem(item, title, paths) {
    var box = mark(el("div", "tool-item"), item.path, paths);
    var head = el("div", "tool-head", title + ": " + (item.name || "(unnamed)"));
    if (item.tool_id) head.appendChild(el("span", "mono", item.tool_id));
    box.appendChild(head);
    if (item.body !== undefined) box.appendChild(mark(el("pre", "tool-body", item.body), item.body_path, paths));
    return box;
  }

  function renderMessage(msg, paths) {
    var box = mark(el("div", "message " + roleClass(msg.role)), msg.path, paths);
    var head = el("div", "message-head");
    head.appendChild(el("span", "role", msg.role || "(no role)"));
    if (msg.tool_id) head.appendChild(el("span", "tool-id", "tool_id " + msg.tool_id));
    box.appendChild(head);
    var calls = msg.tool_calls || [];
    var results = msg.tool_results || [];
    if (msg.content !== undefined && (msg.content !== "" || (!calls.length && !results.length))) {
      var content = el("div", "message-content" + (msg.content === "" ? " empty" : ""), msg.content === "" ? "(empty)" : msg.content);
      box.appendChild(mark(content, msg.content_path, paths));
    }
    calls.forEach(function (call) { box.appendChild(renderToolItem(call, "Tool call", paths)); });
    results.forEach(function (result) { box.appendChild(renderToolItem(result, "Tool result", paths)); });
    return box;
  }

  function renderIO(title, io, paths) {
    var s = section(title);
    s.classList.add("io");
    s.dataset.io = title.toLowerCase();
    if (!io) {
      s.appendChild(el("div", "note", "No " + title.toLowerCase() + " recorded"));
      return s;
    }
    mark(s, io.path, paths);
    if (io.messages) {
      if (!io.messages.length) s.appendChild(el("div", "note", "No messages"));
      io.messages.forEach(function (m) { s.appendChild(renderMessage(m, paths)); });
    } else {
      s.appendChild(mark(el("pre", "value-box", io.value), io.value_path, paths));
    }
    return s;
  }

  function rawSpan(span) {
    if (payloadCache === null) payloadCache = JSON.parse(document.getElementById("payload").textContent);
    var node = payloadCache;
    span.locator.forEach(function (key) { node = node[key]; });
    return JSON.stringify(node, null, 2);
  }

  function renderDetail(span) {
    var pane = document.getElementById("detail");
    var paths = {};
    var body = el("div", "detail-body");
    body.dataset.position = span.position;
    mark(body, span.path, paths);
    var head = el("div", "detail-head");
    head.appendChild(mark(el("span", "kind " + kindClass(span.kind), span.kind), span.kind_path, paths));
    head.appendChild(mark(el("h2", "span-name", span.name), span.name_path, paths));
    head.appendChild(mark(el("span", "status status-" + (span.status === "error" ? "error" : "ok"), span.status || "?"), span.status_path, paths));
    body.appendChild(head);
    var facts = el("div", "facts");
    facts.appendChild(fact("Duration", span.duration_text, span.duration_path, paths));
    if (span.model_name) facts.appendChild(fact("Model", span.model_name, span.model_name_path, paths));
    if (span.model_provider) facts.appendChild(fact("Provider", span.model_provider, span.model_provider_path, paths));
    if (span.tokens_text) facts.appendChild(fact("Tokens", span.tokens_text));
    if (span.cost_text) facts.appendChild(fact("Cost", span.cost_text));
    body.appendChild(facts);

    if (span.differences && span.differences.length) body.appendChild(renderDiffList(span.differences, false));

    if (span.error) {
      var es = section("Error");
      var box = mark(el("div", "error-box"), span.error.path, paths);
      span.error.fields.forEach(function (f) {
        var line = mark(el("div", "field"), f[2], paths);
        line.appendChild(el("span", "label", f[0]));
        line.appendChild(el("pre", "error-" + f[0].replace(/[^a-z]/g, ""), f[1]));
        box.appendChild(line);
      });
      es.appendChild(box);
      body.appendChild(es);
    }

    if (span.io_note) {
      var ns = section("Input / Output");
      ns.appendChild(el("div", "note io-note", span.io_note));
      body.appendChild(ns);
    } else {
      body.appendChild(renderIO("Input", span.input, paths));
      body.appendChild(renderIO("Output", span.output, paths));
    }

    if (span.tool_definitions) {
      var ts = mark(section("Tool definitions"), span.tool_definitions_path, paths);
      span.tool_definitions.forEach(function (tool) {
        var t = mark(el("div", "tool-item"), tool.path, paths);
        t.appendChild(el("div", "tool-head", tool.name || "(unnamed)"));
        if (tool.description) t.appendChild(el("div", "tool-description", tool.description));
        if (tool.schema) t.appendChild(el("pre", "tool-schema", tool.schema));
        ts.appendChild(t);
      });
      body.appendChild(ts);
    }

    var ms = mark(section("Metrics"), span.metrics_path, paths);
    ms.id = "metrics";
    if (span.metrics.length) ms.appendChild(kvTable(span.metrics, paths));
    else ms.appendChild(el("div", "note", "No metrics"));
    body.appendChild(ms);

    var md = mark(section("Metadata"), span.metadata_path, paths);
    md.id = "metadata";
    if (span.metadata.length) md.appendChild(kvTable(span.metadata, paths));
    else md.appendChild(el("div", "note", "No metadata"));
    body.appendChild(md);

    if (span.other_meta.length) {
      var om = section("Other meta");
      om.appendChild(kvTable(span.other_meta, paths));
      body.appendChild(om);
    }

    var tg = mark(section("Tags"), span.tags_path, paths);
    tg.id = "tags";
    if (!span.tags.length) tg.appendChild(el("div", "note", "No tags"));
    span.tags.forEach(function (tag) {
      var chip = mark(el("span", "chip source-" + tag[2], tag[0]), tag[1], paths);
      chip.title = tag[2] === "payload" ? "payload tag (applies to every span)" : "span tag";
      tg.appendChild(chip);
    });
    body.appendChild(tg);

    var ids = section("Span");
    ids.appendChild(kvTable(span.span_fields, paths));
    var raw = el("details", "raw");
    raw.appendChild(el("summary", null, "Span JSON"));
    var pre = el("pre", "raw-json");
    raw.appendChild(pre);
    raw.addEventListener("toggle", function () { if (raw.open && !pre.textContent) pre.textContent = rawSpan(span); });
    ids.appendChild(raw);
    body.appendChild(ids);

    (span.differences || []).forEach(function (d) {
      (paths[d.anchor] || []).forEach(function (node) {
        node.dataset.diff = d.anchor === d.path ? d.kind : "inner";
        var note = d.kind + " " + d.path + (d.expected !== null ? "\nexpected: " + d.expected : "") + (d.actual !== null ? "\nactual: " + d.actual : "");
        node.title = node.title ? node.title + "\n" + note : note;
      });
    });

    pane.replaceChildren(body);
    return paths;
  }

  function select(position, anchor) {
    if (position < 0 || position >= spans.length) return;
    if (selected >= 0) rows[selected].classList.remove("selected");
    selected = position;
    rows[position].classList.add("selected");
    rows[position].setAttribute("aria-selected", "true");
    var paths = renderDetail(spans[position]);
    if (anchor && paths[anchor]) paths[anchor][0].scrollIntoView({ block: "center" });
  }

  var app = document.getElementById("app");
  renderTop(app);
  var layout = el("main", "layout");
  var treePane = el("section", "pane tree-pane");
  renderTree(treePane);
  layout.appendChild(treePane);
  var detail = el("section", "pane detail-pane");
  detail.id = "detail";
  layout.appendChild(detail);
  app.appendChild(layout);
  if (spans.length) select(0);
  window.__traceView = { renderMs: performance.now() - t0, spans: spans.length, select: select };
  document.body.dataset.ready = "true";
})();
