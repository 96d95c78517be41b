/* perispiegel in the browser: what the clientside callbacks share, and what happens when the session ends. */
(function () {
    'use strict';

    /* The address of this page in the other language: every parameter of the current address kept
       (organisation, target group, a detail page's grain or breakdown), only `lang` toggled. */
    window.perispiegelLanguageLink = function (defaultLanguage) {
        const params = new URLSearchParams(window.location.search);
        const language = params.get('lang') || defaultLanguage;
        const other = language === 'nl' ? 'en' : 'nl';
        if (other === defaultLanguage) { params.delete('lang'); } else { params.set('lang', other); }
        const query = params.toString();
        return window.location.pathname + (query ? '?' + query : '');
    };

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
})();
