// A graded 2-D mesh: nanometre cells at the electrode, micrometres beyond.
//
// The electrolyte between the electrode (x = 0) and the reservoir (x = 20)
// is 20 x 10 (units: um; case files say [geometry] unit = "1 um").  In x the
// first 2 um grow geometrically from 4.6 nm (ratio 1.15, 30 cells: a space-
// charge or interphase layer a few nm thick is resolved); the rest has
// uniform 0.2 um cells, fine enough for a phase-field interface of
// l = 0.5 um.  y has 20 uniform cells.  Quadrilaterals (recombined
// transfinite surfaces).
//
// Physical groups: electrode, reservoir, walls (y = 0 and y = 10) and the
// region electrolyte.  Make the .msh with `anodex mesh meshes/graded_layer.geo`.

Lx = 20; Ly = 10; Xg = 2;
Point(1) = {0, 0, 0}; Point(2) = {Xg, 0, 0}; Point(3) = {Lx, 0, 0};
Point(4) = {Lx, Ly, 0}; Point(5) = {Xg, Ly, 0}; Point(6) = {0, Ly, 0};
Line(1) = {1, 2}; Line(2) = {2, 3}; Line(3) = {3, 4}; Line(4) = {4, 5};
Line(5) = {5, 6}; Line(6) = {6, 1}; Line(7) = {2, 5};
Curve Loop(1) = {1, 7, 5, 6}; Plane Surface(1) = {1};
Curve Loop(2) = {2, 3, 4, -7}; Plane Surface(2) = {2};

// graded layer: 30 cells from 4.6 nm at x = 0 (Line 1 runs 1 -> 2, Line 5 runs 5 -> 6)
Transfinite Curve{1} = 31 Using Progression 1.15;
Transfinite Curve{5} = 31 Using Progression 1 / 1.15;
Transfinite Curve{2, 4} = 91;
Transfinite Curve{3, 6, 7} = 21;
Transfinite Surface{1}; Transfinite Surface{2};
Recombine Surface{1, 2};

Physical Curve("electrode") = {6};
Physical Curve("reservoir") = {3};
Physical Curve("walls") = {1, 2, 4, 5};
Physical Surface("electrolyte") = {1, 2};
