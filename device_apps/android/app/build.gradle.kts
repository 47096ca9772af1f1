plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "org.flint.bench"
    compileSdk = 35

    defaultConfig {
        applicationId = "org.flint.bench"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = providers.gradleProperty("flintAppVersion").get()
        buildConfigField("String", "EXECUTORCH_VERSION", "\"${providers.gradleProperty("executorchVersion").get()}\"")
        ndk { abiFilters += listOf("arm64-v8a", "x86_64") } // the ABIs the ExecuTorch AAR ships
    }
    buildTypes {
        release {
            isMinifyEnabled = false
            // signed with the debug key so `adb install` works without a keystore; benchmarks need release code
            signingConfig = signingConfigs.getByName("debug")
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    buildFeatures { buildConfig = true }
}

dependencies {
    implementation("org.pytorch:executorch-android:${providers.gradleProperty("executorchVersion").get()}")
    // fbjni and soloader come transitively from the AAR's Maven metadata
}
