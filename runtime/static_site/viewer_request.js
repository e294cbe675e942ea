// The static site's viewer-request CloudFront Function (runtime cloudfront-js-2.0), run on every request
// before the cache: pretty URLs, and www. answered with a permanent redirect to the apex.
//
//   /about-us  -> /about-us.html     (the last path segment has no extension)
//   /blog/     -> /blog/index.html   (a path that ends in /; / itself too)
//   /a.css     -> /a.css             (anything with an extension is served as it is)
//   www.<apex>/p?q=1 -> 301 https://<apex>/p?q=1   (only when SITE.apex is set: a site at a zone's apex)
//
// SITE is written by the deployment (runtime/static_site/contract.py, function_code); as committed it
// redirects nothing. The URI and query string stay percent-encoded as the viewer sent them.
var SITE = { "apex": "", "index": "index.html" };

function handler(event) {
  var request = event.request;
  var host = request.headers.host ? request.headers.host.value.toLowerCase() : "";
  if (SITE.apex && host === "www." + SITE.apex) {
    return {
      statusCode: 301,
      statusDescription: "Moved Permanently",
      headers: {
        "location": { value: "https://" + SITE.apex + request.uri + queryString(request.querystring) },
        "cache-control": { value: "max-age=3600" }
      }
    };
  }
  request.uri = prettyUri(request.uri);
  return request;
}

function prettyUri(uri) {
  if (uri.endsWith("/")) {
    return uri + SITE.index;
  }
  var last = uri.substring(uri.lastIndexOf("/") + 1);
  return last.indexOf(".") === -1 ? uri + ".html" : uri;
}

// The query string object back to text, every value of a repeated parameter in its order.
function queryString(querystring) {
  var parts = [];
  for (var name in querystring) {
    var entry = querystring[name];
    var values = entry.multiValue ? entry.multiValue : [entry];
    for (var i = 0; i < values.length; i++) {
      parts.push(values[i].value === "" ? name : name + "=" + values[i].value);
    }
  }
  return parts.length ? "?" + parts.join("&") : "";
}
