"""The portal's web side: pages, the page frame, templates and static assets."""
