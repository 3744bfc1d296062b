
import os

# pydantic looks for installed plugins (an entry-point scan) on first use: about 30 ms of
# every cold start, and Letterbox uses none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
