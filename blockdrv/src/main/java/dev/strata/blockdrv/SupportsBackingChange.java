package dev.strata.blockdrv;

/**
 * Optional driver ability: rewrite the backing file name and format stored in the image header
 * (stream and commit need it at the end of the job). A null name removes the backing file.
 * The change must be atomic on disk: a crash leaves the old header or the new one.
 */
public interface SupportsBackingChange {
    void changeBackingFile(String backingName, String backingFormat);
}
