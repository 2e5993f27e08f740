/*
 * otel-preload view --html: one self-contained page (no external assets, no network).
 *
 * The traces are embedded as JSON in <script type="application/json" id="trace-data">, built
 * with json-c from the rows view.c laid out (tree order, depth): the page's script only draws.
 * In that JSON, '<', '>' and '&' are written as \u003c, \u003e and \u0026 (they can only
 * occur inside strings), so no text from the file can close the element or open a comment.
 * The script builds the DOM with textContent only, never innerHTML, so nothing from the file
 * is parsed as HTML; the title, the only other place with file data, is HTML-escaped.
 *
 * Stable hooks for tests and users: each trace in the list is .trace-item[data-trace-id],
 * each span row .span-row[data-span-id] (with data-depth, .error for status ERROR), the
 * details panel is #details. The fragment selects: #trace=ID (prefix), #span=ID, or
 * #trace=ID&span=ID; clicking a span updates it.
 *
 * The CSS and the script below are plain text kept as C string literals.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "view.h"

/* The page's style. */
static const char page_css[] =
    ":root{--bg:#fff;--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--soft:#f6f8fa;--sel:#ddf4ff;--err:#cf222e;--errbg:#ffebe9}\n"
    "*{box-sizing:border-box}\n"
    "html,body{margin:0;height:100%;background:var(--bg);color:var(--fg);font:13px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\n"
    "header{display:flex;align-items:baseline;gap:12px;height:44px;padding:10px 14px;border-bottom:1px solid var(--line);background:var(--soft)}\n"
    "header h1{margin:0;font-size:16px}\n"
    "#source{color:var(--muted);font-family:ui-monospace,Menlo,Consolas,monospace;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}\n"
    "#app{display:grid;grid-template-columns:260px minmax(0,1fr) 400px;height:calc(100% - 44px)}\n"
    "#sidebar,#waterfall,#details{overflow:auto;min-height:0}\n"
    "#sidebar{border-right:1px solid var(--line);background:var(--soft)}\n"
    "#filter{display:block;width:calc(100% - 16px);margin:8px;padding:5px 8px;border:1px solid var(--line);border-radius:6px;font:inherit}\n"
    ".trace-item{padding:7px 10px;border-bottom:1px solid var(--line);cursor:pointer;border-left:3px solid transparent}\n"
    ".trace-item:hover{background:#eaeef2}\n"
    ".trace-item.active{background:var(--sel);border-left-color:#0969da}\n"
    ".trace-item.has-error{border-left-color:var(--err)}\n"
    ".trace-item.active.has-error{border-left-color:var(--err)}\n"
    ".trace-title{font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}\n"
    ".trace-meta,.trace-when{color:var(--muted);font-size:12px}\n"
    ".trace-when{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11px}\n"
    ".badge{display:inline-block;padding:0 6px;border-radius:9px;font-size:11px;font-weight:600;background:#eaeef2;color:var(--muted)}\n"
    ".badge.error{background:var(--errbg);color:var(--err)}\n"
    ".wf-head{padding:10px 14px 6px}\n"
    ".wf-head h2{margin:0 0 2px;font-size:16px;word-break:break-all}\n"
    ".wf-head .ids{color:var(--muted);font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}\n"
    ".axis,.span-row{display:grid;grid-template-columns:minmax(200px,44%) 1fr}\n"
    ".axis{position:sticky;top:0;z-index:1;background:var(--bg);border-bottom:1px solid var(--line);height:22px;font-size:11px;color:var(--muted)}\n"
    ".axis-label{padding:3px 8px}\n"
    ".axis-scale{position:relative;margin-right:56px}\n"
    ".tick{position:absolute;top:3px;transform:translateX(-50%);white-space:nowrap}\n"
    ".tick:first-child{transform:none}\n"
    ".tick:last-child{transform:translateX(-100%)}\n"
    ".span-row{height:24px;cursor:pointer;border-bottom:1px solid #f0f2f4}\n"
    ".span-row:hover{background:var(--soft)}\n"
    ".span-row.selected{background:var(--sel)}\n"
    ".span-row.hidden{display:none}\n"
    ".span-label{display:flex;align-items:center;gap:4px;min-width:0;overflow:hidden;white-space:nowrap;padding-right:6px}\n"
    ".toggle{flex:none;width:14px;text-align:center;color:var(--muted);font-size:10px}\n"
    ".err-mark{flex:none;color:#fff;background:var(--err);border-radius:3px;padding:0 4px;font-weight:700;font-size:11px}\n"
    ".orphan-mark{flex:none;color:#9a6700;font-weight:700}\n"
    ".svc{flex:none;max-width:35%;overflow:hidden;text-overflow:ellipsis;padding:0 5px;border-radius:3px;border-left:3px solid;background:var(--soft);color:var(--muted);font-size:11px}\n"
    ".name{overflow:hidden;text-overflow:ellipsis}\n"
    ".span-row.error .name{color:var(--err);font-weight:600}\n"
    ".span-timeline{position:relative;margin-right:56px;background:repeating-linear-gradient(to right,transparent 0,transparent calc(25% - 1px),#eef0f2 calc(25% - 1px),#eef0f2 25%)}\n"
    ".span-bar{position:absolute;top:6px;height:12px;min-width:2px;border-radius:2px}\n"
    ".span-row.error .span-bar{background:var(--err)!important}\n"
    ".span-row.selected .span-bar{outline:2px solid #0969da;outline-offset:1px}\n"
    ".span-dur{position:absolute;top:4px;font-size:11px;color:var(--muted);white-space:nowrap}\n"
    ".span-dur.inside{color:#fff;top:5px;font-size:10px;font-weight:600}\n"
    "#details{border-left:1px solid var(--line);padding:10px 14px}\n"
    "#details h2{margin:0 0 6px;font-size:15px;word-break:break-all}\n"
    "#details h3{margin:14px 0 4px;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}\n"
    "#details .hint{color:var(--muted)}\n"
    "#details table{width:100%;border-collapse:collapse;table-layout:fixed}\n"
    "#details th,#details td{text-align:left;vertical-align:top;padding:2px 4px;border-bottom:1px solid #f0f2f4;word-break:break-all;white-space:pre-wrap}\n"
    "#details th{width:44%;font-weight:500;color:var(--muted);font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}\n"
    "#details td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}\n"
    ".status-ERROR{color:var(--err);font-weight:700}\n"
    ".status-OK{color:#1a7f37;font-weight:600}\n"
    ".event{margin:6px 0;padding:4px 6px;border-left:3px solid var(--line);background:var(--soft)}\n"
    ".event-name{font-weight:600}\n"
    ".empty{color:var(--muted);font-style:italic}\n";

/* The page's script: reads #trace-data, draws the list, the waterfall and the details. */
static const char page_js[] =
    "(function () {\n"
    "'use strict';\n"
    "var data = JSON.parse(document.getElementById('trace-data').textContent);\n"
    "var traces = data.traces;\n"
    "var list = document.getElementById('trace-list');\n"
    "var wf = document.getElementById('waterfall');\n"
    "var details = document.getElementById('details');\n"
    "var palette = ['#0969da', '#1a7f37', '#8250df', '#bf8700', '#0598bc', '#bf3989', '#57a300', '#6639ba'];\n"
    "var colors = Object.create(null);\n"
    "var ncolors = 0;\n"
    "var current = null;\n"
    "var selected = -1;\n"
    "var collapsed = Object.create(null);\n"
    "var rows = [];\n"
    "\n"
    "function colorOf(service) {\n"
    "	if (!(service in colors))\n"
    "		colors[service] = palette[ncolors++ % palette.length];\n"
    "	return colors[service];\n"
    "}\n"
    "\n"
    "/* Everything from the file goes through textContent: never parsed as HTML. */\n"
    "function el(tag, cls, text) {\n"
    "	var e = document.createElement(tag);\n"
    "	if (cls)\n"
    "		e.className = cls;\n"
    "	if (text !== undefined && text !== null)\n"
    "		e.textContent = String(text);\n"
    "	return e;\n"
    "}\n"
    "\n"
    "function fmtDur(ns) {\n"
    "	var units = [[1e9, 's'], [1e6, 'ms'], [1e3, '\\u00b5s']];\n"
    "	var i = 0, v;\n"
    "	if (ns < 1000)\n"
    "		return Math.round(ns) + 'ns';\n"
    "	while (i < 2 && ns < units[i][0])\n"
    "		i++;\n"
    "	v = ns / units[i][0];\n"
    "	if (i > 0 && v >= 999.5)\n"
    "		v = ns / units[--i][0];\n"
    "	return (v < 9.995 ? v.toFixed(2) : v < 99.95 ? v.toFixed(1) : v.toFixed(0)) + units[i][1];\n"
    "}\n"
    "\n"
    "function plural(n, word) {\n"
    "	return n + ' ' + word + (n === 1 ? '' : 's');\n"
    "}\n"
    "\n"
    "function renderList() {\n"
    "	traces.forEach(function (t, i) {\n"
    "		var item = el('div', 'trace-item' + (t.errors ? ' has-error' : ''));\n"
    "		var meta = el('div', 'trace-meta', plural(t.services, 'service') + ' \\u00b7 ' +\n"
    "			plural(t.spanCount, 'span') + ' \\u00b7 ' + t.durationText + ' ');\n"
    "		item.setAttribute('data-trace-id', t.traceId);\n"
    "		item.tabIndex = 0;\n"
    "		item.appendChild(el('div', 'trace-title', (t.rootMissing ? '(root not in file) ' : '') + t.rootName));\n"
    "		if (t.errors)\n"
    "			meta.appendChild(el('span', 'badge error', plural(t.errors, 'error')));\n"
    "		item.appendChild(meta);\n"
    "		item.appendChild(el('div', 'trace-when', t.startText + ' \\u00b7 ' + t.traceId.slice(0, 12)));\n"
    "		item.title = t.traceId + '\\n' + t.serviceNames.join(', ');\n"
    "		item.addEventListener('click', function () { selectTrace(i, -1, true); });\n"
    "		item.addEventListener('keydown', function (ev) {\n"
    "			if (ev.key === 'Enter')\n"
    "				selectTrace(i, -1, true);\n"
    "		});\n"
    "		list.appendChild(item);\n"
    "	});\n"
    "}\n"
    "\n"
    "function filterList(text) {\n"
    "	var items = list.children;\n"
    "	text = text.toLowerCase();\n"
    "	for (var i = 0; i < traces.length; i++) {\n"
    "		var t = traces[i];\n"
    "		var hay = (t.traceId + ' ' + t.rootName + ' ' + t.serviceNames.join(' ')).toLowerCase();\n"
    "		items[i].style.display = !text || hay.indexOf(text) >= 0 ? '' : 'none';\n"
    "	}\n"
    "}\n"
    "\n"
    "function pct(ns, total) {\n"
    "	return Math.min(100, Math.max(0, ns / total * 100));\n"
    "}\n"
    "\n"
    "function renderWaterfall(t) {\n"
    "	var total = t.duration > 0 ? t.duration : 1;\n"
    "	var head = el('div', 'wf-head');\n"
    "	var axis = el('div', 'axis');\n"
    "	var scale = el('div', 'axis-scale');\n"
    "	var body = el('div', 'rows');\n"
    "	wf.textContent = '';\n"
    "	head.appendChild(el('h2', null, (t.rootMissing ? '(root not in file) ' : '') + t.rootName));\n"
    "	head.appendChild(el('div', 'ids', 'trace ' + t.traceId + ' \\u00b7 ' + t.startText + ' \\u00b7 ' +\n"
    "		plural(t.services, 'service') + ' \\u00b7 ' + plural(t.spanCount, 'span') + ' \\u00b7 ' +\n"
    "		t.durationText + (t.errors ? ' \\u00b7 ' + plural(t.errors, 'error') : '')));\n"
    "	wf.appendChild(head);\n"
    "	axis.appendChild(el('div', 'axis-label', 'service \\u00b7 span'));\n"
    "	for (var k = 0; k <= 4; k++) {\n"
    "		var tick = el('span', 'tick', fmtDur(t.duration * k / 4));\n"
    "		tick.style.left = (k * 25) + '%';\n"
    "		scale.appendChild(tick);\n"
    "	}\n"
    "	axis.appendChild(scale);\n"
    "	wf.appendChild(axis);\n"
    "	rows = [];\n"
    "	t.spans.forEach(function (s, i) {\n"
    "		var row = el('div', 'span-row' + (s.status === 'ERROR' ? ' error' : '') +\n"
    "			(s.orphan ? ' orphan' : ''));\n"
    "		var label = el('div', 'span-label');\n"
    "		var tog = el('span', 'toggle', s.hasChildren ? '\\u25be' : '');\n"
    "		var svc = el('span', 'svc', s.service);\n"
    "		var line = el('div', 'span-timeline');\n"
    "		var bar = el('div', 'span-bar');\n"
    "		var dur = el('span', 'span-dur', s.durationText);\n"
    "		var left = pct(s.offset, total), width = pct(s.duration, total);\n"
    "		row.setAttribute('data-span-id', s.spanId);\n"
    "		row.setAttribute('data-depth', s.depth);\n"
    "		row.setAttribute('data-index', i);\n"
    "		label.style.paddingLeft = (Math.min(s.depth, 40) * 14 + 4) + 'px';\n"
    "		label.title = s.service + ': ' + s.name;\n"
    "		if (s.hasChildren) {\n"
    "			tog.title = 'collapse / expand';\n"
    "			tog.addEventListener('click', function (ev) {\n"
    "				ev.stopPropagation();\n"
    "				toggle(i);\n"
    "			});\n"
    "		}\n"
    "		label.appendChild(tog);\n"
    "		if (s.status === 'ERROR')\n"
    "			label.appendChild(el('span', 'err-mark', '!'));\n"
    "		if (s.orphan || s.cycle) {\n"
    "			var mark = el('span', 'orphan-mark', s.orphan ? '\\u22ef' : '\\u21bb');\n"
    "			mark.title = s.orphan ? 'parent span ' + s.parentSpanId + ' is not in the file'\n"
    "				: 'parent chain loops back to this span';\n"
    "			label.appendChild(mark);\n"
    "		}\n"
    "		svc.style.borderLeftColor = colorOf(s.service);\n"
    "		label.appendChild(svc);\n"
    "		label.appendChild(el('span', 'name', s.name));\n"
    "		bar.style.left = left + '%';\n"
    "		bar.style.width = width + '%';\n"
    "		bar.style.background = colorOf(s.service);\n"
    "		bar.title = s.name + ' \\u00b7 +' + s.offsetText + ' \\u00b7 ' + s.durationText;\n"
    "		/* The duration inside a wide bar, else after it, else before it. */\n"
    "		if (width >= 18) {\n"
    "			dur.className += ' inside';\n"
    "			dur.style.right = 'calc(' + (100 - left - width) + '% + 4px)';\n"
    "		} else if (left + width <= 82) {\n"
    "			dur.style.left = 'calc(' + (left + width) + '% + 4px)';\n"
    "		} else {\n"
    "			dur.style.right = 'calc(' + (100 - left) + '% + 4px)';\n"
    "		}\n"
    "		line.appendChild(bar);\n"
    "		line.appendChild(dur);\n"
    "		row.appendChild(label);\n"
    "		row.appendChild(line);\n"
    "		row.addEventListener('click', function () { selectSpan(i, true); });\n"
    "		body.appendChild(row);\n"
    "		rows.push(row);\n"
    "	});\n"
    "	wf.appendChild(body);\n"
    "}\n"
    "\n"
    "/* Hides the rows under collapsed spans. */\n"
    "function applyCollapse() {\n"
    "	var hideBelow = Infinity;\n"
    "	current.spans.forEach(function (s, i) {\n"
    "		if (s.depth <= hideBelow)\n"
    "			hideBelow = Infinity;\n"
    "		rows[i].classList.toggle('hidden', s.depth > hideBelow);\n"
    "		if (hideBelow === Infinity && collapsed[i])\n"
    "			hideBelow = s.depth;\n"
    "		rows[i].firstChild.firstChild.textContent = s.hasChildren ? (collapsed[i] ? '\\u25b8' : '\\u25be') : '';\n"
    "	});\n"
    "}\n"
    "\n"
    "function toggle(i) {\n"
    "	collapsed[i] = !collapsed[i];\n"
    "	applyCollapse();\n"
    "}\n"
    "\n"
    "function table(pairs) {\n"
    "	var tbl = el('table');\n"
    "	if (!pairs.length)\n"
    "		return el('div', 'empty', 'none');\n"
    "	pairs.forEach(function (kv) {\n"
    "		var tr = el('tr');\n"
    "		tr.appendChild(el('th', null, kv[0]));\n"
    "		var td = el('td', kv[2] || null, kv[1]);\n"
    "		tr.appendChild(td);\n"
    "		tbl.appendChild(tr);\n"
    "	});\n"
    "	return tbl;\n"
    "}\n"
    "\n"
    "function section(title, content) {\n"
    "	details.appendChild(el('h3', null, title));\n"
    "	details.appendChild(content);\n"
    "}\n"
    "\n"
    "function renderDetails(t, s) {\n"
    "	var span = [['service', s.service], ['kind', s.kind],\n"
    "		['status', s.status + (s.statusMessage ? ': ' + s.statusMessage : ''), 'status-' + s.status],\n"
    "		['trace id', t.traceId], ['span id', s.spanId],\n"
    "		['parent span id', s.parentSpanId ? s.parentSpanId + (s.orphan ? ' (not in the file)' : '') : '(root)'],\n"
    "		['start', s.start], ['end', s.end], ['offset', '+' + s.offsetText], ['duration', s.durationText]];\n"
    "	var events = el('div');\n"
    "	var links = el('div');\n"
    "	details.textContent = '';\n"
    "	if (s.cycle)\n"
    "		span.push(['note', 'the parent chain loops back to this span']);\n"
    "	if (s.traceState)\n"
    "		span.push(['trace state', s.traceState]);\n"
    "	if (s.scope)\n"
    "		span.push(['scope', s.scope]);\n"
    "	span.push(['file line', s.line]);\n"
    "	details.appendChild(el('h2', s.status === 'ERROR' ? 'status-ERROR' : null, s.name));\n"
    "	section('Span', table(span));\n"
    "	section('Attributes', table(s.attributes));\n"
    "	s.events.forEach(function (e) {\n"
    "		var box = el('div', 'event');\n"
    "		box.appendChild(el('div', 'event-name', e.name + '  +' + e.offsetText));\n"
    "		if (e.attributes.length)\n"
    "			box.appendChild(table(e.attributes));\n"
    "		events.appendChild(box);\n"
    "	});\n"
    "	if (!s.events.length)\n"
    "		events.appendChild(el('div', 'empty', 'none'));\n"
    "	section('Events', events);\n"
    "	s.links.forEach(function (l) {\n"
    "		var box = el('div', 'event');\n"
    "		box.appendChild(el('div', 'event-name', 'trace ' + l.traceId + ' span ' + l.spanId));\n"
    "		if (l.attributes.length)\n"
    "			box.appendChild(table(l.attributes));\n"
    "		links.appendChild(box);\n"
    "	});\n"
    "	if (!s.links.length)\n"
    "		links.appendChild(el('div', 'empty', 'none'));\n"
    "	section('Links', links);\n"
    "	section('Resource', table(s.resource));\n"
    "}\n"
    "\n"
    "function setHash(h) {\n"
    "	try {\n"
    "		history.replaceState(null, '', '#' + h);\n"
    "	} catch (e) {\n"
    "		/* some file: URLs refuse it: the fragment is only a convenience */\n"
    "	}\n"
    "}\n"
    "\n"
    "function selectTrace(i, spanIndex, updateHash) {\n"
    "	var items = list.children;\n"
    "	current = traces[i];\n"
    "	collapsed = Object.create(null);\n"
    "	selected = -1;\n"
    "	for (var k = 0; k < items.length; k++)\n"
    "		items[k].classList.toggle('active', k === i);\n"
    "	renderWaterfall(current);\n"
    "	details.textContent = '';\n"
    "	details.appendChild(el('p', 'hint', 'Click a span to see its attributes, events and resource.'));\n"
    "	if (spanIndex >= 0)\n"
    "		selectSpan(spanIndex, updateHash);\n"
    "	else if (updateHash)\n"
    "		setHash('trace=' + current.traceId);\n"
    "}\n"
    "\n"
    "function selectSpan(i, updateHash) {\n"
    "	var s = current.spans[i];\n"
    "	if (selected >= 0 && rows[selected])\n"
    "		rows[selected].classList.remove('selected');\n"
    "	selected = i;\n"
    "	rows[i].classList.add('selected');\n"
    "	/* Open collapsed ancestors. */\n"
    "	for (var k = i - 1, d = s.depth; k >= 0 && d > 0; k--) {\n"
    "		if (current.spans[k].depth < d) {\n"
    "			d = current.spans[k].depth;\n"
    "			collapsed[k] = false;\n"
    "		}\n"
    "	}\n"
    "	applyCollapse();\n"
    "	renderDetails(current, s);\n"
    "	if (rows[i].scrollIntoView)\n"
    "		rows[i].scrollIntoView({block: 'nearest'});\n"
    "	if (updateHash)\n"
    "		setHash('trace=' + current.traceId + '&span=' + s.spanId);\n"
    "}\n"
    "\n"
    "function findSpan(t, id) {\n"
    "	for (var k = 0; k < t.spans.length; k++)\n"
    "		if (t.spans[k].spanId === id)\n"
    "			return k;\n"
    "	return -1;\n"
    "}\n"
    "\n"
    "/* #trace=ID (a prefix is enough), #span=ID, or both: #trace=ID&span=ID. */\n"
    "function fromHash() {\n"
    "	var params = {};\n"
    "	location.hash.replace(/^#/, '').split('&').forEach(function (p) {\n"
    "		var eq = p.indexOf('=');\n"
    "		if (eq > 0)\n"
    "			params[p.slice(0, eq)] = decodeURIComponent(p.slice(eq + 1)).toLowerCase();\n"
    "	});\n"
    "	for (var i = 0; i < traces.length; i++) {\n"
    "		var t = traces[i];\n"
    "		if (params.trace && t.traceId.indexOf(params.trace) !== 0)\n"
    "			continue;\n"
    "		var k = params.span ? findSpan(t, params.span) : -1;\n"
    "		if (params.span && k < 0)\n"
    "			continue;\n"
    "		selectTrace(i, k, false);\n"
    "		return true;\n"
    "	}\n"
    "	return false;\n"
    "}\n"
    "\n"
    "document.addEventListener('keydown', function (ev) {\n"
    "	if (!current || selected < 0 || ev.target.tagName === 'INPUT')\n"
    "		return;\n"
    "	var step = ev.key === 'ArrowDown' ? 1 : ev.key === 'ArrowUp' ? -1 : 0;\n"
    "	if (!step)\n"
    "		return;\n"
    "	ev.preventDefault();\n"
    "	for (var k = selected + step; k >= 0 && k < rows.length; k += step) {\n"
    "		if (!rows[k].classList.contains('hidden')) {\n"
    "			selectSpan(k, true);\n"
    "			break;\n"
    "		}\n"
    "	}\n"
    "});\n"
    "document.getElementById('filter').addEventListener('input', function (ev) {\n"
    "	filterList(ev.target.value);\n"
    "});\n"
    "window.addEventListener('hashchange', fromHash);\n"
    "\n"
    "document.getElementById('count').textContent = plural(traces.length, 'trace');\n"
    "renderList();\n"
    "if (!traces.length)\n"
    "	wf.appendChild(el('p', 'hint', 'No traces.'));\n"
    "else if (!fromHash())\n"
    "	selectTrace(0, -1, false);\n"
    "})();\n";

/* ---- the data ---- */

static struct json_object *chk(struct json_object *o)
{
	if (!o)
		otelp_view_oom();
	return o;
}

static void add(struct json_object *obj, const char *key, struct json_object *v)
{
	if (json_object_object_add(obj, key, chk(v)))
		otelp_view_oom();
}

static void push(struct json_object *arr, struct json_object *v)
{
	if (json_object_array_add(arr, chk(v))) {
		json_object_put(v);
		otelp_view_oom();
	}
}

static struct json_object *str(const char *s)
{
	return chk(json_object_new_string(s ? s : ""));
}

static void add_str(struct json_object *obj, const char *key, const char *s)
{
	add(obj, key, str(s));
}

static void add_i64(struct json_object *obj, const char *key, int64_t v)
{
	add(obj, key, json_object_new_int64(v));
}

static void add_bool(struct json_object *obj, const char *key, bool v)
{
	add(obj, key, json_object_new_boolean(v));
}

static void add_dur(struct json_object *obj, const char *key, uint64_t ns)
{
	char buf[32];

	add_str(obj, key, otelp_view_fmt_dur(buf, sizeof(buf), ns));
}

static void add_time(struct json_object *obj, const char *key, uint64_t ns)
{
	char buf[48];

	add_str(obj, key, otelp_view_fmt_time(buf, sizeof(buf), ns));
}

/* [[key, text], ...] for the attributes of owner (a span, event, link or resource). */
static struct json_object *pairs(struct json_object *owner)
{
	struct json_object *out = chk(json_object_new_array());
	struct json_object *a = otelp_view_attrs(owner);
	size_t n = a ? json_object_array_length(a) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *pair, *value;
		struct otelp_sbuf text = {0};
		const char *key;

		if (!otelp_view_kv(json_object_array_get_idx(a, i), &key, &value))
			continue;
		pair = chk(json_object_new_array());
		push(out, pair);
		push(pair, str(key));
		otelp_view_value_text(&text, value);
		push(pair, str(otelp_sbuf_str(&text)));
		otelp_sbuf_free(&text);
	}
	return out;
}

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *member_str(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static struct json_object *array(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);

	return v && json_object_is_type(v, json_type_array) ? v : NULL;
}

/* "+1.20ms" (or "-1.20ms" before the trace's start). */
static void add_offset(struct json_object *obj, const char *key, uint64_t t, uint64_t from)
{
	char buf[32], text[40];

	otelp_view_fmt_dur(buf, sizeof(buf), t >= from ? t - from : from - t);
	snprintf(text, sizeof(text), "%s%s", t >= from ? "" : "-", buf);
	add_str(obj, key, text);
}

static struct json_object *span_json(const struct otelp_vtrace *t, const struct otelp_vrow *row)
{
	const struct otelp_vspan *s = row->s;
	struct json_object *o = chk(json_object_new_object());
	struct json_object *events = chk(json_object_new_array());
	struct json_object *links = chk(json_object_new_array());
	struct json_object *ev = array(s->span, "events"), *ln = array(s->span, "links");
	size_t nev = ev ? json_object_array_length(ev) : 0,
	       nln = ln ? json_object_array_length(ln) : 0;
	const char *scope = member_str(s->scope, "name"),
	           *version = member_str(s->scope, "version");
	struct otelp_sbuf sc = {0};

	add_str(o, "spanId", s->span_id);
	add_str(o, "parentSpanId", s->parent_id);
	add_str(o, "name", s->name);
	add_str(o, "service", s->service);
	add_str(o, "kind", otelp_view_kind_name(s->kind));
	add_str(o, "status", otelp_view_status_name(s->status));
	add_str(o, "statusMessage", s->status_msg);
	add_i64(o, "offset", (int64_t)(s->start_ns - t->start_ns));
	add_i64(o, "duration", (int64_t)(s->end_ns - s->start_ns));
	add_offset(o, "offsetText", s->start_ns, t->start_ns);
	add_dur(o, "durationText", s->end_ns - s->start_ns);
	add_time(o, "start", s->start_ns);
	add_time(o, "end", s->end_ns);
	add_i64(o, "depth", (int64_t)row->depth);
	add_bool(o, "orphan", row->orphan);
	add_bool(o, "cycle", row->cycle);
	add_bool(o, "hasChildren", row->has_children);
	add_i64(o, "line", (int64_t)s->line);
	add_str(o, "traceState", member_str(s->span, "traceState"));
	if (scope && *scope) {
		otelp_sbuf_puts(&sc, scope);
		if (version && *version) {
			otelp_sbuf_puts(&sc, " ");
			otelp_sbuf_puts(&sc, version);
		}
	}
	add_str(o, "scope", otelp_sbuf_str(&sc));
	otelp_sbuf_free(&sc);
	add(o, "attributes", pairs(s->span));
	add(o, "events", events);
	for (size_t i = 0; i < nev; i++) {
		struct json_object *e = json_object_array_get_idx(ev, i);
		struct json_object *eo = chk(json_object_new_object());

		push(events, eo);
		add_str(eo, "name", member_str(e, "name"));
		add_offset(eo, "offsetText", otelp_view_u64(member(e, "timeUnixNano")),
		           t->start_ns);
		add(eo, "attributes", pairs(e));
	}
	add(o, "links", links);
	for (size_t i = 0; i < nln; i++) {
		struct json_object *l = json_object_array_get_idx(ln, i);
		struct json_object *lo = chk(json_object_new_object());

		push(links, lo);
		add_str(lo, "traceId", member_str(l, "traceId"));
		add_str(lo, "spanId", member_str(l, "spanId"));
		add(lo, "attributes", pairs(l));
	}
	add(o, "resource", pairs(s->resource));
	return o;
}

static struct json_object *trace_json(const struct otelp_vtrace *t)
{
	struct json_object *o = chk(json_object_new_object());
	struct json_object *spans = chk(json_object_new_array());
	struct json_object *names = chk(json_object_new_array());
	char ts[48], when[64];
	time_t sec = (time_t)(t->start_ns / 1000000000u);
	struct tm tm;

	add_str(o, "traceId", t->trace_id);
	if (gmtime_r(&sec, &tm) && strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(when, sizeof(when), "%s.%03u UTC", ts,
		         (unsigned)(t->start_ns % 1000000000u / 1000000u));
	else
		snprintf(when, sizeof(when), "%" PRIu64, t->start_ns);
	add_str(o, "startText", when);
	add_time(o, "start", t->start_ns);
	add_i64(o, "duration", (int64_t)(t->end_ns - t->start_ns));
	add_dur(o, "durationText", t->end_ns - t->start_ns);
	add_str(o, "rootName", t->root->name);
	add_bool(o, "rootMissing", t->root_missing);
	add_i64(o, "services", (int64_t)t->n_services);
	add_i64(o, "errors", (int64_t)t->n_errors);
	add_i64(o, "spanCount", (int64_t)t->n);
	add(o, "serviceNames", names);
	for (size_t i = 0; i < t->n; i++) {
		const char *svc = t->rows[i].s->service;
		size_t k, n = json_object_array_length(names);

		for (k = 0; k < n; k++)
			if (!strcmp(json_object_get_string(json_object_array_get_idx(names, k)),
			            svc))
				break;
		if (k == n)
			push(names, str(svc));
	}
	add(o, "spans", spans);
	for (size_t i = 0; i < t->n; i++)
		push(spans, span_json(t, &t->rows[i]));
	return o;
}

/* ---- the page ---- */

static void html_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* JSON text made safe inside <script>: '<', '>', '&' (only ever inside strings) escaped. */
static void script_json(FILE *f, const char *json)
{
	const char *run = json;

	for (const char *p = json; *p; p++) {
		const char *esc = *p == '<'   ? "\\u003c"
		                  : *p == '>' ? "\\u003e"
		                  : *p == '&' ? "\\u0026"
		                              : NULL;

		if (!esc)
			continue;
		fwrite(run, 1, (size_t)(p - run), f);
		fputs(esc, f);
		run = p + 1;
	}
	fputs(run, f);
}

int otelp_view_html(FILE *f, const char *source, struct otelp_vtrace *const *traces, size_t n)
{
	struct json_object *root = chk(json_object_new_object());
	struct json_object *arr = chk(json_object_new_array());
	const char *json;

	add_str(root, "source", source);
	add(root, "traces", arr);
	for (size_t i = 0; i < n; i++)
		push(arr, trace_json(traces[i]));
	json = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
	                                                JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!json) {
		json_object_put(root);
		otelp_view_oom();
	}

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"generator\" content=\"otel-preload view\">\n<title>Traces: ",
	      f);
	html_escaped(f, source);
	fputs("</title>\n<style>\n", f);
	fputs(page_css, f);
	fputs("</style>\n</head>\n<body>\n<header><h1>Traces</h1><span id=\"count\"></span>"
	      "<span id=\"source\">",
	      f);
	html_escaped(f, source);
	fputs(
	    "</span></header>\n"
	    "<div id=\"app\">\n"
	    "<nav id=\"sidebar\"><input id=\"filter\" type=\"search\" placeholder=\"Filter: name, id, "
	    "service\" aria-label=\"Filter traces\"><div id=\"trace-list\"></div></nav>\n"
	    "<main id=\"waterfall\"></main>\n"
	    "<aside id=\"details\"><p class=\"hint\">Click a span to see its attributes, events and "
	    "resource.</p></aside>\n"
	    "</div>\n"
	    "<noscript><p>This page needs JavaScript to draw the traces.</p></noscript>\n"
	    "<script type=\"application/json\" id=\"trace-data\">",
	    f);
	script_json(f, json);
	fputs("</script>\n<script>\n", f);
	fputs(page_js, f);
	fputs("</script>\n</body>\n</html>\n", f);
	json_object_put(root);
	return ferror(f) ? -1 : 0;
}
