// The NHS.UK frontend's components (menus, password reveal). Pages work without it.
import { initAll } from '/static/nhsuk-frontend.min.js'
initAll()
