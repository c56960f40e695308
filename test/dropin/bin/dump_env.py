#!/usr/bin/env python3
# Writes the rank's environment as JSON to <dir>/<RANK>.json.
import json
import os
import sys

with open(os.path.join(sys.argv[1], os.environ["RANK"] + ".json"), "w") as out:
    json.dump(dict(os.environ), out)
