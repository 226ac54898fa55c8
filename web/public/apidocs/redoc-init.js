// Starts ReDoc on /redoc with our /openapi.json (a script file: the page's
// Content-Security-Policy forbids inline code).
'use strict';
(function () {
  if (!window.Redoc || typeof window.Redoc.init !== 'function') return; // the page says it is not built
  window.Redoc.init('/openapi.json', { hideDownloadButton: false, disableSearch: false }, document.getElementById('redoc'));
})();
