// On a narrow screen the project's menu is one row that scrolls sideways
// (static/css/tagwise.css): bring the current page's entry into view.
(function () {
  "use strict";
  const current = document.querySelector('.project-nav [aria-current="page"]');
  if (current) current.scrollIntoView({ block: "nearest", inline: "nearest" });
})();
