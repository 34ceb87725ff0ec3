-- The map copy of each track (`patrols.track_simplified`) is now simplified
-- to twice the GPS noise, about 8 m (0.00008°), instead of 2 m: at 2 m a
-- 1 Hz walk kept two thirds of its noisy points, which every map tile read
-- and simplified again. New uploads are stored that way
-- (store::patrols::SIMPLIFY_TOLERANCE_DEG); this brings the rows already
-- stored to the same tolerance. Collapsed lines keep their two end points.
UPDATE patrols
SET track_simplified = ST_Simplify(track_simplified, 0.00008, true)
WHERE ST_NPoints(track_simplified) > 2;
