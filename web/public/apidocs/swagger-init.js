// Starts Swagger UI on /docs with our /openapi.json. A script file, not an
// inline one, so the page's Content-Security-Policy can forbid inline code.
'use strict';
(function () {
  if (typeof window.SwaggerUIBundle !== 'function') return; // the page says it is not built
  window.ui = window.SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    tryItOutEnabled: false,
    // Swagger UI would ask swagger.io to validate the document: nothing
    // leaves the server's own origin.
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
})();
