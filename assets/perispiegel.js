/* perispiegel in the browser: the clientside callbacks, what happens when the session ends, and printing.

   The callbacks are the functions of `window.dash_clientside.perispiegel`, named in Python with
   `dashboards.clientside.clientside(name)`. The names and values they share with the server — parameter names,
   control keys, the "no restriction" and "national view" values, the default language, the links that follow
   the view — are not written here: each callback reads them as State from the frame's `frame-constants` store
   (dashboards/layout.py, `frame_constants`), so browser and server agree by construction. */
(function () {
    'use strict';

    /* `path` with the view's own parameters of the query string `search` (language, organisation, target group);
       a detail page's grain or breakdown stays on that page. */
    function linkTo(path, search, viewParameters) {
        const current = new URLSearchParams(search || '');
        const params = new URLSearchParams();
        for (const [name, value] of current) { if (viewParameters.includes(name)) { params.append(name, value); } }
        const query = params.toString();
        return path + (query ? '?' + query : '');
    }

    /* The address of this page in the other language: every parameter of the current address kept
       (organisation, target group, a detail page's grain or breakdown), only `lang` toggled. */
    function languageLink(defaultLanguage) {
        const params = new URLSearchParams(window.location.search);
        const language = params.get('lang') || defaultLanguage;
        const other = language === 'nl' ? 'en' : 'nl';
        if (other === defaultLanguage) { params.delete('lang'); } else { params.set('lang', other); }
        const query = params.toString();
        return window.location.pathname + (query ? '?' + query : '');
    }

    /* A page's own choices (`chosen`: URL parameter -> value, none to drop it) written into the address with
       `history.replaceState`; returns the new query string and the language switch's link keeping them. */
    function keepChoices(chosen, constants) {
        const url = new URL(window.location.href);
        for (const [name, value] of Object.entries(chosen)) {
            if (value) { url.searchParams.set(name, value); } else { url.searchParams.delete(name); }
        }
        if (url.href !== window.location.href) { window.history.replaceState(window.history.state, '', url); }
        return [url.search, languageLink(constants.default_language)];
    }

    let pagesDrawn = 0;  // pages Dash Pages has drawn since this document was loaded (showDocumentLanguage)

    const callbacks = {
        /* The frame (dashboards/layout.py) ------------------------------------------------------------------ */

        /* The header's organisation choice: the address with the chosen `org` (none for the national view), the
           rest of the address kept as it is now. A select that merely reports the value it was drawn with (the
           organisation shown) changes nothing: navigating there would add a history entry Back could never leave. */
        chooseOrganisation: function (chosen, meta, constants) {
            const organisation = chosen === constants.national_choice ? null : (chosen || null);
            if (!meta || organisation === (meta.org || null)) { return window.dash_clientside.no_update; }
            const url = new URL(window.location.href);
            if (organisation) { url.searchParams.set('org', organisation); } else { url.searchParams.delete('org'); }
            return url.search;
        },

        /* The navigation follows the view after "Toepassen", so it leads to the same target group; returns the
           language switch's link, which keeps the whole address. The navigation's links are the pages Dash Pages
           registered, so they are set by id (`set_props`) rather than declared as outputs. */
        followNavigation: function (search, constants) {
            const setProps = window.dash_clientside.set_props;
            for (const link of constants.navigation) {
                if (document.getElementById(link.id)) {
                    setProps(link.id, {href: linkTo(link.path, search, constants.view_parameters)});
                }
            }
            return languageLink(constants.default_language);
        },

        /* Dash Pages sets document.title from its own store in the same round; defer so the translated title
           wins. Every page drawn after the first (a navigation link, the language switch, the header's organisation
           choice, Back) moves focus to its heading, as a page load would put a screen reader at the top (WCAG
           2.4.3); the first page, opened from the address bar, leaves focus where the browser put it. */
        showDocumentLanguage: function (meta) {
            if (!meta) { return window.dash_clientside.no_update; }
            document.documentElement.lang = meta.lang;
            const navigated = pagesDrawn > 0;
            pagesDrawn += 1;
            setTimeout(function () {
                document.title = meta.title;
                const heading = navigated && document.querySelector('main h1');
                if (heading) { heading.focus({preventScroll: true}); }
            }, 0);
            return meta.lang;
        },

        /* The address as the page shows it, when it asked for something else (an organisation the user may not
           see, a value a parameter does not take, a period outside the data: `layout.address_notices`): the view's
           own parameters replaced by the corrected ones, a detail page's grain or breakdown kept, with
           `history.replaceState` (no new history entry, no new rendering of the page). */
        correctAddress: function (meta, constants) {
            if (!meta || meta.corrected === null || meta.corrected === undefined) {
                return window.dash_clientside.no_update;
            }
            const asked = window.location.href;
            const correct = function () {
                const url = new URL(window.location.href);
                constants.view_parameters.forEach(name => url.searchParams.delete(name));
                for (const [name, value] of new URLSearchParams(meta.corrected)) { url.searchParams.set(name, value); }
                if (url.href !== window.location.href) { window.history.replaceState(window.history.state, '', url); }
                return url.search;
            };
            /* Dash's router location (dcc.Location) may take up the address the page was opened with only after
               this has run, and then write that address back (announced with `_dashprivate_pushstate`): correct it
               once more then — only while the address is still the one asked for, never after a navigation. */
            const again = function () {
                window.removeEventListener('_dashprivate_pushstate', again);
                if (window.location.href === asked) { correct(); }
            };
            window.addEventListener('_dashprivate_pushstate', again);
            setTimeout(function () { window.removeEventListener('_dashprivate_pushstate', again); }, 5000);
            return correct();
        },

        /* A chart's table (charts.accessible_chart), drawn from its data when its summary is first opened, with
           the markup of `layout.data_table`. */
        drawChartTable: function (clicks, table) {
            if (!clicks || !table) { return window.dash_clientside.no_update; }
            const numeric = new Set(table.numeric);
            const cellClass = index => numeric.has(index) ? 'text-end numeric' : '';
            const element = (type, props, children) => ({namespace: 'dash_html_components', type: type,
                                                         props: Object.assign({children: children}, props)});
            const drawn = element('Table', {id: table.id, className: 'table table-sm table-striped data-table'}, [
                element('Caption', {className: 'visually-hidden'}, table.caption),
                element('Thead', {}, element('Tr', {}, table.headers.map(
                    (header, index) => element('Th', {scope: 'col', className: cellClass(index)}, header)))),
                element('Tbody', {}, table.rows.map(row => element('Tr', {}, row.map(
                    (value, index) => element('Td', {className: cellClass(index)}, value))))),
            ]);
            // The table's notes (why others' figures show a size band or "≈"), as plain text after it.
            const notes = (table.notes || []).map(note => element('P', {className: 'chart-note'}, note));
            return notes.length ? [drawn, ...notes] : drawn;
        },

        /* The filter panel (dashboards/filters.py) ------------------------------------------------------------ */

        /* Toepassen and Wissen rewrite the address in place (`history.replaceState`, so the router of Dash Pages
           does not render the whole page again) and hand the new query string to the `view-search` store. Language
           and organisation come from the store (the view as the server drew it: an organisation the user may not
           see is already replaced there); a detail page's grain or breakdown is kept as it is in the address bar,
           its only up-to-date copy. The panel then shows exactly what the address says. */
        applyFilters: function (applyClicks, resetClicks, viewSearch, monthOptions, constants, ...values) {
            const controlKeys = constants.control_keys;
            const noRestriction = constants.no_restriction;
            const reset = window.dash_clientside.callback_context.triggered_id === 'filter-reset';
            const url = new URL(window.location.href);
            const view = new URLSearchParams(viewSearch || '');
            for (const name of ['lang', 'org']) {
                if (view.has(name)) { url.searchParams.set(name, view.get(name)); } else { url.searchParams.delete(name); }
            }
            constants.filter_parameters.forEach(name => url.searchParams.delete(name));
            const chosen = {};
            if (!reset) {
                controlKeys.forEach((key, index) => {
                    if (values[index] && values[index] !== noRestriction) { chosen[key] = values[index]; }
                });
            }
            let first = chosen.period_from, last = chosen.period_to;
            delete chosen.period_from;
            delete chosen.period_to;
            if (first || last) {
                // One end chosen: the other end is the edge of the published data (the first and last month offered).
                const months = (monthOptions || []).map(option => option.value).filter(value => value !== noRestriction);
                first = first || months[0] || last;
                last = last || months[months.length - 1] || first;
                [first, last] = [first, last].sort();
                url.searchParams.set(constants.period_parameter, first + '..' + last);
            }
            for (const [name, value] of Object.entries(chosen)) { url.searchParams.set(name, value); }
            if (url.href !== window.location.href) { window.history.replaceState(window.history.state, '', url); }
            const controls = controlKeys.map(key => reset ? noRestriction
                : key === 'period_from' && first ? first
                : key === 'period_to' && last ? last
                : window.dash_clientside.no_update);
            return [url.search, ...controls];
        },

        /* "Wijzig" opens or closes the fields; Toepassen and Wissen close them, and focus goes back to "Wijzig"
           (the button pressed is hidden with the fields), where the panel can be opened again. */
        togglePanel: function (toggleClicks, applyClicks, resetClicks, hidden) {
            const toggled = window.dash_clientside.callback_context.triggered_id === 'filter-toggle';
            const open = toggled && hidden !== false;
            if (!toggled) {
                setTimeout(function () {
                    const toggle = document.getElementById('filter-toggle');
                    if (toggle) { toggle.focus(); }
                }, 0);
            }
            return [!open, open ? 'true' : 'false'];
        },

        /* The indicator detail page (dashboards/pages/indicator.py) ------------------------------------------- */

        /* A link that follows the view: its own target, with the view's parameters of `search`. */
        followLink: function (search, constants, href) {
            return linkTo(new URL(href, window.location.origin).pathname, search, constants.view_parameters);
        },

        /* The page's own choices in the address, without a page reload, and the language switch keeping them. */
        keepPageChoices: function (grain, overdispersion, dimension, constants) {
            return keepChoices({grain: grain, overdispersion: overdispersion, by: dimension}, constants);
        },

        /* The overview (dashboards/pages/overview.py) --------------------------------------------------------- */

        /* The overview's judging method in the address, as the detail page keeps its choices. */
        keepOverviewChoices: function (overdispersion, constants) {
            return keepChoices({overdispersion: overdispersion}, constants);
        },

        /* The compare page's measure (dashboards/pages/compare.py) in the address, as the overview keeps its own. */
        keepCompareChoices: function (measure, constants) {
            return keepChoices({measure: measure}, constants);
        },
    };

    window.dash_clientside = window.dash_clientside || {};
    window.dash_clientside.perispiegel = callbacks;

    /* Printing (the rules: assets/print.css). CSS alone cannot shrink a plotly chart (its SVG has a fixed size), and
       a chart's table is drawn by a callback only when first opened, which would come too late for the printout. So
       before printing every chart is drawn at the printable width, and every chart table is opened, drawn here at
       once from its data (the markup of `drawChartTable`) if it was never opened; after printing all is undone.
       PRINT_CHART_WIDTH: A4 portrait less the 12 mm margins of print.css is 186 mm ≈ 703 CSS pixels (US Letter:
       725); a little less leaves room for rounding. */
    const PRINT_CHART_WIDTH = 680;
    let undoPrint = [];

    function toElement(node) {
        if (node === null || node === undefined) { return document.createTextNode(''); }
        if (typeof node !== 'object') { return document.createTextNode(String(node)); }
        const element = document.createElement(node.type.toLowerCase());
        const props = node.props || {};
        if (props.className) { element.className = props.className; }
        if (props.scope) { element.setAttribute('scope', props.scope); }
        if (props.id) { element.id = props.id; }
        [].concat(props.children === undefined ? [] : props.children)
            .forEach(child => element.appendChild(toElement(child)));
        return element;
    }

    function chartTableData(summary) {
        const layout = window.dash_component_api && window.dash_component_api.getLayout;
        let id;
        try { id = JSON.parse(summary.id); } catch (error) { return null; }
        const store = layout && layout(Object.assign({}, id, {type: id.type.replace(/-summary$/, '-data')}));
        return store ? (store.props || store).data : null;
    }

    window.addEventListener('beforeprint', function () {
        undoPrint.forEach(undo => undo());
        undoPrint = [];
        document.querySelectorAll('details.chart-table').forEach(function (details) {
            if (!details.open) {
                details.open = true;
                undoPrint.push(() => { details.open = false; });
            }
            const summary = details.querySelector('summary');
            const data = summary && !details.querySelector('table') && chartTableData(summary);
            if (data) {
                const copy = document.createElement('div');
                copy.className = 'print-copy';
                [].concat(callbacks.drawChartTable(1, data)).forEach(part => copy.appendChild(toElement(part)));
                details.appendChild(copy);
                undoPrint.push(() => copy.remove());
            }
        });
        if (!window.Plotly) { return; }
        document.querySelectorAll('.js-plotly-plot').forEach(function (chart) {
            if (!chart._fullLayout || chart._fullLayout.width <= PRINT_CHART_WIDTH) { return; }
            const drawn = {width: chart.layout.width, autosize: chart.layout.autosize};
            window.Plotly.relayout(chart, {width: PRINT_CHART_WIDTH});
            undoPrint.push(function () {
                const restore = {};
                for (const [name, value] of Object.entries(drawn)) { restore[name] = value === undefined ? null : value; }
                window.Plotly.relayout(chart, restore).then(() => window.Plotly.Plots.resize(chart));
            });
        });
    });

    window.addEventListener('afterprint', function () {
        undoPrint.forEach(undo => undo());
        undoPrint = [];
    });

    /* A chart or table update answered 401: the session ended (idle timeout, logged out elsewhere). Go to the
       login page, which brings the user back to this very view, rather than leave a page that silently stopped
       following its filters. */
    const originalFetch = window.fetch;
    window.fetch = function () {
        const request = arguments[0];
        return originalFetch.apply(this, arguments).then(function (response) {
            const url = String((request && request.url) || request);
            if (response.status === 401 && url.indexOf('/_dash-') !== -1) {
                const next = window.location.pathname + window.location.search;
                window.location.assign('/login?reason=expired&next=' + encodeURIComponent(next));
            }
            return response;
        });
    };

    /* "Download these figures" and the meeting report (dashboards/downloads.py): the file is fetched here rather
       than by the browser, so that one that takes longer than a second shows its progress (seconds, bytes received)
       next to the link, and a refused one shows the server's message instead of a broken download. */
    function fileName(response, fallback) {
        const disposition = response.headers.get('Content-Disposition') || '';
        const match = /filename="([^"]+)"/.exec(disposition);
        return match ? match[1] : fallback;
    }

    function megabytes(bytes) {
        return (bytes / 1e6).toLocaleString(document.documentElement.lang || 'nl', {maximumFractionDigits: 1});
    }

    document.addEventListener('click', function (event) {
        const link = event.target.closest && event.target.closest('a.export-link');
        if (!link || event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey) {
            return;
        }
        event.preventDefault();
        const box = link.closest('.download-links, .report-links');
        const progress = box && box.querySelector('.export-progress');
        const started = Date.now();
        let received = 0;
        const show = function (message) { if (progress) { progress.textContent = message; } };
        const ticker = setInterval(function () {
            if (Date.now() - started > 1000) {
                show(link.dataset.busy.replace('{megabytes}', megabytes(received))
                     .replace('{seconds}', String(Math.round((Date.now() - started) / 1000))));
            }
        }, 250);
        if (progress) { progress.classList.add('busy'); }
        originalFetch(link.href, {credentials: 'same-origin'}).then(function (response) {
            if (!response.ok) {
                return response.json().then(function (body) { throw new Error(body.error || response.statusText); });
            }
            const reader = response.body.getReader();
            const parts = [];
            const pump = function () {
                return reader.read().then(function (step) {
                    if (step.done) {
                        return new Blob(parts, {type: response.headers.get('Content-Type') || ''});
                    }
                    parts.push(step.value);
                    received += step.value.length;
                    return pump();
                });
            };
            return pump().then(function (blob) {
                const address = URL.createObjectURL(blob);
                const save = document.createElement('a');
                save.href = address;
                save.download = fileName(response, 'perispiegel-export');
                document.body.appendChild(save);
                save.click();
                save.remove();
                setTimeout(function () { URL.revokeObjectURL(address); }, 10000);
                show('');
                link.dataset.saved = save.download;  // browser tests read which file was saved
            });
        }).catch(function (error) {
            show(link.dataset.failed.replace('{message}', error.message));
        }).finally(function () {
            clearInterval(ticker);
            if (progress) { progress.classList.remove('busy'); }
        });
    });
})();
