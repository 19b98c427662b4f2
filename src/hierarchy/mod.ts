/**
 * The hierarchy helper: higher agents issue goals, fresh lower agents (`low_level_{n}`) carry
 * them out for up to k steps, rewards are routed per level. See {@linkcode Hierarchy}.
 *
 * @module
 */

export { Hierarchy, type LevelReward, type LevelSpec } from "./hierarchy.ts";
