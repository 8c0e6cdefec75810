"""Open an anodex run in ParaView and save pictures (run with pvpython).

    pvpython postprocess/paraview_view.py RUN_DIR [--out DIR] [--animate] [--summary]
    python3 -m postprocess.offscreen pvpython postprocess/paraview_view.py RUN_DIR
                                                          # without a display

Reads eta.xdmf, c.xdmf and phi.xdmf (after a restart, each is the temporal
collection of the run's pieces) with ParaView's XDMF reader and saves, at the last output
time, one picture per field into DIR (default RUN_DIR/paraview):

* eta.png: the order parameter (metal = 1) with its 0.5 contour in white;
* c.png: the ion concentration (mol/m^3);
* phi.png: the electric potential (V).

--animate also saves every output time, restarts included, as
<field>_<n>.png frames (join them with ffmpeg or ParaView's animation view).
--summary prints, as JSON, each file's arrays, time steps and value ranges
(what the tests check).  Coordinates are in metres, as written.
"""
import argparse
import json
import os
import re
import sys

from paraview.simple import (XDMFReader, ColorBy, Contour, CreateView, GetActiveCamera,
                             GetColorTransferFunction, GetScalarBar, Hide, ResetCamera,
                             SaveScreenshot, SetActiveView, Show)

SIZE = (900, 800)
# colour maps of the fields the blocks write; others get "Cool to Warm"
PRESETS = {"eta": "Viridis (matplotlib)", "c": "Inferno (matplotlib)",
           "salt_concentration": "Inferno (matplotlib)"}


def run_fields(run):
    """{name: unit} of the fields a run wrote (metadata.json), eta first."""
    try:
        with open(os.path.join(run, "metadata.json")) as f:
            fields = json.load(f)["fields"]
    except (OSError, ValueError, KeyError):
        fields = {m.group(1): "" for f in sorted(os.listdir(run))
                  if (m := re.fullmatch(r"([A-Za-z_]+)\.xdmf", f))}
    return dict(sorted(fields.items(), key=lambda item: item[0] != "eta"))


def title(name, unit):
    return "eta (metal = 1)" if name == "eta" else f"{name} ({unit})" if unit else name


def open_field(path):
    """The XDMF reader on one field file without the grid "mesh" (dolfinx
    writes the bare mesh as a grid of its own next to the field's time steps)."""
    reader = XDMFReader(FileNames=[path])
    reader.GridStatus = [g for g in reader.GridStatus if g != "mesh"]
    return reader


def pieces(run, name):
    """The field's file: name.xdmf (after a restart the temporal collection
    of the pieces name.r0.xdmf, name.r1.xdmf, ...)."""
    path = os.path.join(run, f"{name}.xdmf")
    return [path] if os.path.exists(path) else []


def summary(run):
    out = {}
    for name in run_fields(run):
        for path in pieces(run, name):
            reader = open_field(path)
            times = list(reader.TimestepValues) if reader.TimestepValues else [0.0]
            ranges, points = [], []
            for t in times:
                reader.UpdatePipeline(t)
                ranges.append(list(reader.PointData[name].GetRange()))
                points.append(reader.GetDataInformation().GetNumberOfPoints())
            bounds = reader.GetDataInformation().GetBounds()
            out[os.path.basename(path)] = {
                "arrays": list(reader.PointData.keys()), "times": times, "ranges": ranges,
                "points": reader.GetDataInformation().GetNumberOfPoints(), "bounds": list(bounds),
                "points_per_time": points}
    return out


def show_field(view, reader, name, unit):
    """Colour the field with its preset and scale, add the eta = 0.5 contour."""
    cmap = PRESETS.get(name, "Cool to Warm")
    display = Show(reader, view)
    ColorBy(display, ("POINTS", name))
    lut = GetColorTransferFunction(name)
    lut.ApplyPreset(cmap, True)
    display.RescaleTransferFunctionToDataRange(True, False)
    display.SetScalarBarVisibility(view, True)
    bar = GetScalarBar(lut, view)
    bar.Title, bar.ComponentTitle = title(name, unit), ""
    shown = [reader]
    if name == "eta":
        front = Contour(Input=reader, ContourBy=["POINTS", "eta"], Isosurfaces=[0.5])
        line = Show(front, view)
        ColorBy(line, None)
        line.AmbientColor = line.DiffuseColor = [1.0, 1.0, 1.0]
        line.LineWidth = 2.0
        shown.append(front)
    return shown


def render(run, outdir, animate):
    """<field>.png at the last output; with animate also <field>_<n>.png for
    every output time (restarts included), in order."""
    os.makedirs(outdir, exist_ok=True)
    saved = []
    for name, unit in run_fields(run).items():
        files = pieces(run, name)
        if not files:
            continue
        view = CreateView("RenderView")
        view.ViewSize = list(SIZE)
        view.OrientationAxesVisibility = 0
        frame = 0
        for k, path in enumerate(files):
            reader = open_field(path)
            shown = show_field(view, reader, name, unit)
            ResetCamera(view)
            zmin, zmax = reader.GetDataInformation().GetBounds()[4:6]
            if zmax > zmin:  # 3-D: look at the box from a corner
                SetActiveView(view)
                camera = GetActiveCamera()
                camera.Elevation(30)
                camera.Azimuth(-40)
                ResetCamera(view)
            times = list(reader.TimestepValues) or [0.0]
            for t in (times if animate else []):
                view.ViewTime = t
                SaveScreenshot(os.path.join(outdir, f"{name}_{frame:04d}.png"), view,
                               ImageResolution=list(SIZE))
                frame += 1
            if k == len(files) - 1:
                view.ViewTime = times[-1]
                png = os.path.join(outdir, f"{name}.png")
                SaveScreenshot(png, view, ImageResolution=list(SIZE))
                saved.append(png)
            for proxy in shown:
                Hide(proxy, view)
    return saved


def main(argv=None):
    ap = argparse.ArgumentParser(description="Open an anodex run in ParaView and save pictures.")
    ap.add_argument("run")
    ap.add_argument("--out", help="directory for the pictures (default RUN/paraview)")
    ap.add_argument("--animate", action="store_true", help="also save every output time")
    ap.add_argument("--summary", action="store_true",
                    help="print each file's arrays, times and ranges as JSON")
    args = ap.parse_args(argv)
    if not pieces(args.run, "eta"):
        sys.exit(f"paraview_view: {args.run}: no eta.xdmf (not an anodex run directory?)")
    if args.summary:
        print(json.dumps(summary(args.run)))
    for png in render(args.run, args.out or os.path.join(args.run, "paraview"), args.animate):
        print(f"saved {png}")


if __name__ == "__main__":
    main()
