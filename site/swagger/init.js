// The API reference: Swagger UI (npm swagger-ui-dist, served as static assets) on the
// deployment's own OpenAPI document. "Try it out" calls the API on this origin, with
// the console's session cookie when signed in. No external validator, no inline script.
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
