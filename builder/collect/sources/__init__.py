"""Where collections come from: readers of published open-collection data and a thumbnail downloader.
Upstream of everything else: they write an image folder and a metadata file that `vsis build` reads."""
