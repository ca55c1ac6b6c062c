"""Search by the visitor's own image, a product of the site: compact vectors of the collection (compact.py,
stage.py), the networks a browser can run (browser.py) and the runtime that runs them (runtime.py), the
page's data (data.py) and model (model.py), handed to the site by product.py."""
