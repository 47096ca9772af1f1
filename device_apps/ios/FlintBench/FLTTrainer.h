// Objective-C face of ExecuTorch's C++ training API (executorch::extension::training::TrainingModule
// and its SGD optimizer). ExecuTorch ships no Swift or Objective-C training API, so Swift calls this.
#import <Foundation/Foundation.h>

NS_ASSUME_NONNULL_BEGIN

/// One input tensor of a training batch: raw little-endian bytes, a shape, float32 or int64.
@interface FLTTensor : NSObject
@property(nonatomic, readonly) NSData *data;
@property(nonatomic, readonly) NSArray<NSNumber *> *shape;
@property(nonatomic, readonly) BOOL isInt64;
- (instancetype)initWithData:(NSData *)data shape:(NSArray<NSNumber *> *)shape isInt64:(BOOL)isInt64;
@end

@interface FLTTrainer : NSObject
/// Loads the training program (.pte with a joint forward/backward method) from a file.
- (nullable instancetype)initWithProgramPath:(NSString *)path
                                      method:(NSString *)method
                                learningRate:(double)learningRate
                                       error:(NSError **)error;
/// One training step: forward + backward on `inputs`, then SGD on the gradients. Returns the loss.
- (BOOL)stepWithInputs:(NSArray<FLTTensor *> *)inputs loss:(float *)loss error:(NSError **)error;
@end

NS_ASSUME_NONNULL_END
