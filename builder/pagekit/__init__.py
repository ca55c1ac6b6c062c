"""The page kit: what every page product shares (the page item and its paths, the data-script writers, charts,
number formats, the product's contract with the site). It imports no product and no page."""
