// Regime Risk: overrides xlwings Server's static/js/ribbon.js, which binds the example
// "hello-ribbon" button. The add-in's ribbon has a single button that opens the task pane
// (ShowTaskpane, see templates/manifest.xml), so there is no ribbon function to associate.
