package dev.strata.blockdrv;

/** Why a node holds a child: the protocol node under a format ({@code file}) or the image below an overlay ({@code backing}). */
public enum ChildRole {
    FILE,
    BACKING
}
