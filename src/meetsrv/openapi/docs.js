// The Swagger UI of one door: its description's URL is the script tag's data-url.
window.addEventListener("load", function () {
  var url = document.querySelector("script[data-url]").getAttribute("data-url");
  window.ui = SwaggerUIBundle({
    url: url,
    dom_id: "#swagger-ui",
    deepLinking: true,
    showExtensions: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
