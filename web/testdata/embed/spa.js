// The host application's own router: it swaps the title and scrolls to
// the top, as client-side routers do, and never reloads the page.
(() => {
function show(path) {
  document.getElementById("title").textContent = path.endsWith("/two") ? "Post two" : "Post one";
  window.scrollTo(0, 0);
}
document.addEventListener("click", (ev) => {
  const a = ev.target.closest("a[data-route]");
  if (!a) return;
  ev.preventDefault();
  history.pushState({}, "", a.getAttribute("href"));
  show(location.pathname);
});
window.addEventListener("popstate", () => show(location.pathname));
show(location.pathname);
})();
